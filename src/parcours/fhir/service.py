"""Use cases of the FHIR façade: systems' tokens, reads, searches and writes.

Every read and write goes through the owning context's service (the MPI for
Patient, the registry for Organization/Location/HealthcareService, the
workforce for Practitioner, the pathways for Encounter, ServiceRequest, Task
and EpisodeOfCare), called with the client's Principal (channel ``fhir``): the
same permissions, organisational scope and audit as a person at a desk.

Versions. The contexts keep their own version counters and this façade
exposes them as ``meta.versionId``: an establishment's ``version``, a
referral's ``version`` (its optimistic lock, so ``If-Match`` on a Task is the
state machine's ``expected_version``), a professional's ``version``, and for
a Patient the number of link events of the person (records are never edited;
only links change a person). A change made in the web pages therefore moves
the version seen here. ``fhir_resource_version`` keeps the JSON of each
version the façade has returned (after a write, or the first time it reads a
version made elsewhere), which is what vread and history answer from.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import Permission, Principal, Role, Scope, parse_scope
from parcours.access.service import require
from parcours.db import utcnow
from parcours.errors import DomainError, NotFound
from parcours.fhir import resources as res
from parcours.fhir import rules
from parcours.fhir.models import (
    FhirClient,
    FhirExportJob,
    FhirIdentifier,
    FhirResourceVersion,
    FhirToken,
)
from parcours.fhir.resources import FhirError
from parcours.pathways import service as pathways
from parcours.pathways.encounter import EncounterKind
from parcours.pathways.referral import Action, Priority
from parcours.pathways.schemas import (
    EncounterIn,
    EncounterOut,
    InboxPages,
    ReferralIn,
    ReferralOut,
    TimelineOut,
    TransitionIn,
)
from parcours.patients import service as patients
from parcours.territory import service as territory
from parcours.workforce import service as workforce

TOKEN_SECONDS = 3600
TOKEN_PREFIX = "fhat_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_COUNT = 20
MAX_COUNT = 100


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# --- clients and tokens ------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A system calling the façade: the Principal the contexts see, and its SMART scopes."""

    principal: Principal
    scopes: tuple[rules.SmartScope, ...]
    client_id: str

    def need(self, resource: str, access: str) -> None:
        if not rules.allows(list(self.scopes), resource, access):
            raise FhirError(
                403,
                f"Le jeton n'a pas la portée system/{resource}.{access}.",
                code="forbidden",
            )


def scope_text(scope: Scope) -> str:
    if not scope.values:
        return scope.kind.value
    return f"{scope.kind.value}:{','.join(sorted(scope.values))}"


def add_client(
    session: Session,
    actor: Principal,
    *,
    client_id: str,
    name: str,
    role: Role,
    scope: Scope,
    smart_scopes: str,
) -> str:
    """Register a system; returns its secret, shown once (only its SHA-256 is kept).

    The role and scope are those a person of that system's establishment would
    hold; the SMART scopes narrow which resources its tokens may touch.
    """
    require(actor, Permission.USERS_MANAGE)
    try:
        parsed = rules.parse_scopes(smart_scopes)
    except rules.ScopeError as exc:
        raise FhirError(400, f"Portée SMART inconnue : {exc}", code="invalid") from exc
    if not parsed:
        raise FhirError(400, "Indiquez au moins une portée SMART.", code="invalid")
    if session.scalar(select(FhirClient.id).where(FhirClient.client_id == client_id)):
        raise FhirError(409, f"Le client {client_id} existe déjà.", code="duplicate")
    secret = secrets.token_urlsafe(32)
    session.add(
        FhirClient(
            client_id=client_id,
            name=name,
            secret_hash=_sha256(secret),
            role=role.value,
            scope=scope_text(scope),
            smart_scopes=" ".join(str(s) for s in parsed),
            active=True,
            created_at=utcnow(),
            created_by=actor.username,
        )
    )
    audit.record(
        session,
        actor,
        "fhir.client.add",
        "fhir_client",
        client_id,
        details={"role": role.value, "scope": scope_text(scope), "smart": smart_scopes},
    )
    session.commit()
    return secret


def anonymous(ip: str | None) -> Principal:
    """Who a refused call without a valid token is traced as (channel ``fhir``); it holds
    no permission that matters: it is only ever written in the audit."""
    from parcours.access.rules import ScopeKind

    return Principal(0, "fhir:anonymous", Role.ANALYST, Scope(ScopeKind.GST), "fhir", ip)


def _principal(client: FhirClient, ip: str | None) -> Principal:
    return Principal(
        0, f"fhir:{client.client_id}", Role(client.role), parse_scope(client.scope), "fhir", ip
    )


def issue_token(
    session: Session, client_id: str, secret: str, requested: str | None, ip: str | None
) -> dict[str, Any]:
    """OAuth2 client-credentials grant: a bearer token for the scopes asked (or all)."""
    client = session.scalars(select(FhirClient).where(FhirClient.client_id == client_id)).first()
    if (
        client is None
        or not client.active
        or not secrets.compare_digest(client.secret_hash, _sha256(secret))
    ):
        audit.record(
            session,
            anonymous(ip),
            "fhir.token",
            "fhir_client",
            client_id[:80],
            outcome="failure",
        )
        session.commit()
        raise FhirError(401, "Client inconnu ou secret erroné.", code="login")
    allowed = rules.parse_scopes(client.smart_scopes)
    try:
        wanted = rules.parse_scopes(requested) if requested else allowed
    except rules.ScopeError as exc:
        raise FhirError(400, f"Portée inconnue : {exc}", code="invalid") from exc
    scopes = rules.granted(wanted, allowed)
    if not scopes:
        raise FhirError(403, "Aucune des portées demandées n'est accordée.", code="forbidden")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    text = " ".join(str(s) for s in scopes)
    session.add(
        FhirToken(
            token_hash=_sha256(raw),
            client_id=client_id,
            smart_scopes=text,
            issued_at=now,
            expires_at=now + timedelta(seconds=TOKEN_SECONDS),
        )
    )
    audit.record(
        session,
        _principal(client, ip),
        "fhir.token",
        "fhir_client",
        client_id,
        details={"scope": text},
    )
    session.commit()
    return {
        "access_token": raw,
        "token_type": "bearer",
        "expires_in": TOKEN_SECONDS,
        "scope": text,
    }


def resolve_token(session: Session, raw: str, ip: str | None) -> Caller:
    row = session.get(FhirToken, _sha256(raw))
    if row is None or row.expires_at <= utcnow():
        raise FhirError(401, "Jeton inconnu ou expiré.", code="login")
    client = session.scalars(
        select(FhirClient).where(FhirClient.client_id == row.client_id)
    ).first()
    if client is None or not client.active:
        raise FhirError(401, "Client désactivé.", code="login")
    return Caller(
        _principal(client, ip), tuple(rules.parse_scopes(row.smart_scopes)), client.client_id
    )


# --- versions --------------------------------------------------------------------------------


def _digest(resource: Mapping[str, Any]) -> str:
    body = {k: v for k, v in resource.items() if k != "meta"}
    return _sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def remember(session: Session, resource: dict[str, Any], method: str = "GET") -> None:
    """Keep this version's JSON unless it is kept already (append-only)."""
    version = int(resource["meta"]["versionId"])
    exists = session.scalar(
        select(FhirResourceVersion.id).where(
            FhirResourceVersion.resource_type == resource["resourceType"],
            FhirResourceVersion.resource_id == resource["id"],
            FhirResourceVersion.version_id == version,
        )
    )
    if exists:
        return
    session.add(
        FhirResourceVersion(
            resource_type=resource["resourceType"],
            resource_id=resource["id"],
            version_id=version,
            last_updated=datetime.fromisoformat(
                resource["meta"]["lastUpdated"].replace("Z", "+00:00")
            ),
            method=method,
            digest=_digest(resource),
            content=res._pruned(resource),
        )
    )


def _versions(session: Session, kind: str, rid: str) -> list[FhirResourceVersion]:
    return list(
        session.scalars(
            select(FhirResourceVersion)
            .where(
                FhirResourceVersion.resource_type == kind, FhirResourceVersion.resource_id == rid
            )
            .order_by(FhirResourceVersion.version_id.desc())
        )
    )


# --- search parameters ----------------------------------------------------------------------


@dataclass
class Query:
    """A search as received: parameters in order, with the result controls taken out."""

    params: list[tuple[str, str]]
    count: int = DEFAULT_COUNT
    page: int = 1
    includes: list[str] = field(default_factory=list)
    revincludes: list[str] = field(default_factory=list)
    raw: str = ""

    @classmethod
    def parse(cls, query_string: str) -> Query:
        q = cls(params=[], raw=query_string)
        for name, value in parse_qsl(query_string, keep_blank_values=True):
            if name == "_count":
                q.count = _int(name, value, 1, MAX_COUNT)
            elif name == "_page":
                q.page = _int(name, value, 1, 1_000_000)
            elif name == "_include":
                q.includes.append(value)
            elif name == "_revinclude":
                q.revincludes.append(value)
            elif name in ("_format", "_pretty"):
                continue
            else:
                q.params.append((name, value))
        return q

    def get(self, name: str) -> str | None:
        for n, v in self.params:
            if n == name:
                return v
        return None

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.params if n == name]

    def check(self, kind: str, known: Iterable[str]) -> None:
        allowed = set(known)
        for name, _ in self.params:
            if name.split(":")[0] not in allowed:
                raise FhirError(
                    400,
                    f"Paramètre de recherche non pris en charge pour {kind} : {name}",
                    code="not-supported",
                    where=[name],
                )


def _int(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit():
        raise FhirError(400, f"{name} : entier attendu", where=[name])
    return max(low, min(int(value), high))


def _dates(q: Query, name: str) -> list[rules.DateRange]:
    try:
        return [rules.parse_date(name, v) for v in q.all(name)]
    except rules.SearchError as exc:
        raise FhirError(400, str(exc), where=[name]) from exc


def _token(value: str) -> tuple[str | None, str]:
    if "|" in value:
        system, _, code = value.partition("|")
        return system or None, code
    return None, value


@dataclass
class Found:
    """One page of a search: the matches, the total, and what was included."""

    matches: list[dict[str, Any]]
    total: int | None
    included: list[dict[str, Any]] = field(default_factory=list)


# --- handlers per resource type ----------------------------------------------------------------

Reader = Callable[[Session, Caller, str], dict[str, Any]]
Searcher = Callable[[Session, Caller, Query], Found]
Creator = Callable[[Session, Caller, Any], dict[str, Any]]
Updater = Callable[[Session, Caller, str, Any, int | None], dict[str, Any]]


@dataclass(frozen=True)
class Handler:
    """What the façade does with one resource type; the CapabilityStatement is read from it."""

    kind: str
    read: Reader | None = None
    search: Searcher | None = None
    create: Creator | None = None
    update: Updater | None = None
    search_params: tuple[tuple[str, str, str], ...] = ()  # name, type, documentation
    includes: tuple[str, ...] = ()
    revincludes: tuple[str, ...] = ()
    versioned: bool = True
    conditional_create: bool = False
    operations: tuple[str, ...] = ()


def _person_out_of(session: Session, caller: Caller, person_id: str) -> Any:
    try:
        return patients.get_person(session, caller.principal, person_id)
    except NotFound as exc:
        raise FhirError(404, f"Patient/{person_id} introuvable.", code="not-found") from exc


def read_patient(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Patient", "read")
    return res.patient(_person_out_of(session, caller, rid))


def _identifier_ids(session: Session, caller: Caller, value: str) -> set[str] | None:
    """Persons holding an identifier; None when the MPI search should handle it."""
    system, code = _token(value)
    if system in (res.CIN_SYSTEM, res.AMO_SYSTEM):
        return None
    rows = session.scalars(
        select(FhirIdentifier.resource_id).where(
            FhirIdentifier.resource_type == "Patient",
            FhirIdentifier.value == code,
            *([FhirIdentifier.system == system] if system else []),
        )
    )
    return set(rows)


PATIENT_PARAMS = (
    ("_id", "token", "identifiant régional de la personne (P…)"),
    ("identifier", "token", "CIN, numéro AMO (index de l'IMP) ou IPP envoyé par un système"),
    ("name", "string", "nom et prénom, tolérant (index phonétique de l'IMP)"),
    ("family", "string", "nom"),
    ("given", "string", "prénom"),
    (
        "birthdate",
        "date",
        "date de naissance : égalité (à l'année, au mois ou au jour) ou bornes ge, gt, le, lt",
    ),
    ("gender", "token", "male | female (filtre les résultats)"),
)


def _birthdate(values: list[str]) -> tuple[str | None, date | None, date | None]:
    """The ``birthdate`` parameters: one value without prefix is the MPI's own equality (a
    record known to the year agrees with any day of it); prefixed ones (ge, gt, le, lt,
    sa, eb) and any combination become one range [from, before), all of them ANDed."""
    if not values:
        return None, None, None
    ranges = []
    for value in values:
        try:
            ranges.append(rules.parse_date("birthdate", value))
        except rules.SearchError as exc:
            raise FhirError(400, str(exc), where=["birthdate"]) from exc
        if ranges[-1].prefix in ("ne", "ap"):
            raise FhirError(
                400,
                "birthdate : les préfixes ne et ap ne sont pas pris en charge "
                "(eq, ge, gt, le, lt, sa, eb le sont).",
                code="not-supported",
                where=["birthdate"],
            )
    if len(ranges) == 1 and ranges[0].prefix == "eq" and not values[0].startswith("eq"):
        return values[0], None, None
    born_from: date | None = None
    born_before: date | None = None
    for r in ranges:
        low = {"eq": r.start, "ge": r.start, "gt": r.end, "sa": r.end}.get(r.prefix)
        high = {"eq": r.end, "le": r.end, "lt": r.start, "eb": r.start}.get(r.prefix)
        if low is not None and (born_from is None or low.date() > born_from):
            born_from = low.date()
        if high is not None and (born_before is None or high.date() < born_before):
            born_before = high.date()
    return None, born_from, born_before


def search_patient(session: Session, caller: Caller, q: Query) -> Found:
    caller.need("Patient", "read")
    q.check("Patient", [p[0] for p in PATIENT_PARAMS])
    ids = q.get("_id")
    if ids:
        found = []
        for rid in ids.split(","):
            try:
                found.append(read_patient(session, caller, rid))
            except FhirError as exc:
                if exc.status_code != 404:
                    raise
        return _with_revincludes(session, caller, q, Found(found, len(found)))
    cin = amo = None
    restrict: set[str] | None = None
    for value in q.all("identifier"):
        system, code = _token(value)
        if system == res.CIN_SYSTEM:
            cin = code
        elif system == res.AMO_SYSTEM:
            amo = code
        else:
            held = _identifier_ids(session, caller, value) or set()
            restrict = held if restrict is None else restrict & held
    names = [q.get("name"), q.get("given"), q.get("family")]
    text = " ".join(n for n in names if n) or None
    birth, born_from, born_before = _birthdate(q.all("birthdate"))
    gender = q.get("gender")
    ranged = born_from is not None or born_before is not None
    if restrict is not None and not (cin or amo or text or birth or ranged):
        out = [read_patient(session, caller, rid) for rid in sorted(restrict)]
        return _with_revincludes(session, caller, q, Found(out, len(out)))
    if not (cin or amo or text or birth or ranged):
        raise FhirError(
            400,
            "Indiquez au moins un critère : identifier, name, family, given, birthdate ou _id.",
            code="required",
        )
    try:
        page = patients.search_persons(
            session,
            caller.principal,
            q=text,
            cin=cin,
            amo_number=amo,
            birth_date=birth,
            born_from=born_from,
            born_before=born_before,
            page=q.page,
            page_size=q.count,
        )
    except DomainError as exc:
        raise FhirError(400, exc.render(), code="invalid") from exc
    items = [
        res.patient_brief(b)
        for b in page.items
        if (restrict is None or b.person_id in restrict)
        and (gender is None or res._GENDER.get(b.sex or "", "unknown") == gender)
    ]
    total = page.total if restrict is None and gender is None else None
    return _with_revincludes(session, caller, q, Found(items, total))


def _with_revincludes(session: Session, caller: Caller, q: Query, found: Found) -> Found:
    wanted = set(q.revincludes)
    unknown = wanted - {"Encounter:patient", "ServiceRequest:patient", "Task:patient"}
    if unknown:
        raise FhirError(400, f"_revinclude non pris en charge : {', '.join(sorted(unknown))}")
    if not wanted:
        return found
    for patient in found.matches:
        line = _timeline(session, caller, patient["id"])
        for item in line.items:
            if item.encounter and "Encounter:patient" in wanted:
                caller.need("Encounter", "read")
                found.included.append(res.encounter(line.person_id, item.encounter))
            if item.referral and item.type == "referral":
                if "ServiceRequest:patient" in wanted:
                    caller.need("ServiceRequest", "read")
                    found.included.append(res.service_request(item.referral))
                if "Task:patient" in wanted:
                    caller.need("Task", "read")
                    found.included.append(res.task(item.referral))
    return found


def _establishment_of(caller: Caller) -> str | None:
    """The establishment a system registers at when the resource names none: its own,
    if its scope is exactly one establishment."""
    scope = caller.principal.scope
    if scope.kind.value == "establishment" and len(scope.values) == 1:
        return next(iter(scope.values))
    return None


def _store_identifiers(session: Session, resource: Any, person_id: str) -> None:
    data = resource.model_dump(mode="json", exclude_none=True)
    for ident in data.get("identifier", []):
        system, value = ident.get("system"), ident.get("value")
        if not (system and value):
            continue
        if session.get(FhirIdentifier, ("Patient", system, value)) is None:
            session.add(
                FhirIdentifier(
                    resource_type="Patient", system=system, value=value, resource_id=person_id
                )
            )


def create_patient(session: Session, caller: Caller, resource: Any) -> dict[str, Any]:
    """Register a source record; the answer is the person the MPI put it in."""
    caller.need("Patient", "write")
    data = res.record_in(resource, _establishment_of(caller))
    registration = patients.register_record(session, caller.principal, data)
    out = res.patient(_person_out_of(session, caller, registration.person_id))
    _store_identifiers(session, resource, registration.person_id)
    remember(session, out, "POST")
    session.commit()
    return out


def conditional_matches(session: Session, caller: Caller, kind: str, criteria: str) -> list[str]:
    """The ids an ``If-None-Exist`` search finds (identifier or _id searches)."""
    handler = HANDLERS.get(kind)
    if handler is None or handler.search is None:
        raise FhirError(400, f"Recherche impossible sur {kind}.", code="not-supported")
    found = handler.search(session, caller, Query.parse(criteria))
    return [m["id"] for m in found.matches]


# --- $match and $everything --------------------------------------------------------------------


def match_patient(session: Session, caller: Caller, parameters: Any, base: str) -> dict[str, Any]:
    caller.need("Patient", "read")
    data = parameters.model_dump(mode="json", exclude_none=True)
    patient_json: dict[str, Any] | None = None
    only_certain = False
    count = 10
    for p in data.get("parameter", []):
        if p.get("name") == "resource":
            patient_json = p.get("resource")
        elif p.get("name") == "onlyCertainMatches":
            only_certain = bool(p.get("valueBoolean"))
        elif p.get("name") == "count":
            count = int(p.get("valueInteger", 10))
    if patient_json is None:
        raise FhirError(
            400, "Paramètre « resource » (un Patient) manquant.", where=["Parameters.parameter"]
        )
    patient = res.parse(patient_json, "Patient")
    record = res.record_in(patient, None).model_copy(update={"establishment": None})
    try:
        candidates = patients.match_demographics(
            session, caller.principal, record, limit=max(1, min(count, 50))
        )
    except DomainError as exc:
        raise FhirError(400, exc.render()) from exc
    entries = [res.match_entry(c, base) for c in candidates]
    if only_certain:
        entries = [e for e in entries if e["search"]["extension"][0]["valueCode"] == "certain"]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": entries,
    }


def _timeline(session: Session, caller: Caller, person_id: str) -> TimelineOut:
    try:
        return pathways.timeline(session, caller.principal, person_id)
    except NotFound as exc:
        raise FhirError(404, f"Patient/{person_id} introuvable.", code="not-found") from exc


def everything(session: Session, caller: Caller, person_id: str, base: str) -> dict[str, Any]:
    """The person and everything the pathways know of them, in one searchset."""
    patient = read_patient(session, caller, person_id)
    line = _timeline(session, caller, person_id)
    out: list[dict[str, Any]] = [patient]
    referrals: list[ReferralOut] = []
    for item in reversed(line.items):
        if item.encounter is not None:
            caller.need("Encounter", "read")
            out.append(res.encounter(person_id, item.encounter))
            out.extend(res.conditions(person_id, item.encounter))
        if item.referral is not None and item.type == "referral":
            caller.need("ServiceRequest", "read")
            referrals.append(item.referral)
            out.append(res.service_request(item.referral))
            out.append(res.task(item.referral))
    out.extend(res.episode_of_care(person_id, referrals))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(out),
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": res.checked(r),
                "search": {"mode": "match" if r["resourceType"] == "Patient" else "include"},
            }
            for r in out
        ],
    }


# --- the registry: Organization, Location, HealthcareService -----------------------------------


def _establishment(session: Session, caller: Caller, code: str) -> Any:
    try:
        return territory.get_establishment(session, caller.principal, code)
    except NotFound as exc:
        raise FhirError(404, f"Établissement {code} introuvable.", code="not-found") from exc


def read_organization(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Organization", "read")
    return res.organization(_establishment(session, caller, rid))


def read_location(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Location", "read")
    return res.location(_establishment(session, caller, rid))


REGISTRY_PARAMS = (
    ("_id", "token", "code de l'établissement"),
    ("identifier", "token", "code de l'établissement"),
    ("name", "string", "nom (contient)"),
    ("address-state", "string", "province (code)"),
)


def _registry_search(
    session: Session, caller: Caller, q: Query, kind: str, one: Callable[[Any], dict[str, Any]]
) -> Found:
    caller.need(kind, "read")
    q.check(kind, [p[0] for p in REGISTRY_PARAMS])
    code = q.get("_id") or (_token(q.get("identifier") or "")[1] or None)
    if code:
        try:
            return Found([one(_establishment(session, caller, code))], 1)
        except FhirError as exc:
            if exc.status_code == 404:
                return Found([], 0)
            raise
    page = territory.search_establishments(
        session,
        caller.principal,
        territory.EstablishmentFilter(q=q.get("name"), province=q.get("address-state")),
        page=q.page,
        page_size=q.count,
    )
    if kind == "Organization":
        return Found([res.organization(e) for e in page.items], page.total)
    return Found([one(_establishment(session, caller, e.code)) for e in page.items], page.total)


def search_organization(session: Session, caller: Caller, q: Query) -> Found:
    return _registry_search(session, caller, q, "Organization", res.organization)


def search_location(session: Session, caller: Caller, q: Query) -> Found:
    return _registry_search(session, caller, q, "Location", res.location)


def read_healthcare_service(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("HealthcareService", "read")
    code, _, _ = rid.partition(".")
    for service in res.healthcare_services(_establishment(session, caller, code)):
        if service["id"] == rid:
            return service
    raise FhirError(404, f"HealthcareService/{rid} introuvable.", code="not-found")


def search_healthcare_service(session: Session, caller: Caller, q: Query) -> Found:
    caller.need("HealthcareService", "read")
    q.check("HealthcareService", ["organization", "_id"])
    if q.get("_id"):
        return Found([read_healthcare_service(session, caller, q.get("_id") or "")], 1)
    org = res.reference_id(q.get("organization"), "Organization") or q.get("organization")
    if not org:
        raise FhirError(400, "organization est requis.", code="required", where=["organization"])
    items = res.healthcare_services(_establishment(session, caller, org))
    return Found(items, len(items))


# --- the workforce --------------------------------------------------------------------------


def _professional(session: Session, caller: Caller, rid: str) -> Any:
    if not rid.isdigit():
        raise FhirError(404, f"Practitioner/{rid} introuvable.", code="not-found")
    try:
        return workforce.professional_file(session, caller.principal, int(rid))
    except NotFound as exc:
        raise FhirError(404, f"Practitioner/{rid} introuvable.", code="not-found") from exc


def read_practitioner(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Practitioner", "read")
    return res.practitioner(_professional(session, caller, rid))


def search_practitioner(session: Session, caller: Caller, q: Query) -> Found:
    caller.need("Practitioner", "read")
    q.check("Practitioner", ["_id", "identifier", "name"])
    if q.get("_id"):
        return Found([read_practitioner(session, caller, q.get("_id") or "")], 1)
    text = _token(q.get("identifier") or "")[1] or q.get("name")
    page = workforce.search_professionals(
        session, caller.principal, workforce.ProfessionalFilter(q=text), q.page, q.count
    )
    return Found([res.practitioner(p) for p in page.items], page.total)


def search_practitioner_role(session: Session, caller: Caller, q: Query) -> Found:
    caller.need("PractitionerRole", "read")
    q.check("PractitionerRole", ["practitioner", "active"])
    who = res.reference_id(q.get("practitioner"), "Practitioner") or q.get("practitioner")
    if not who:
        raise FhirError(400, "practitioner est requis.", code="required", where=["practitioner"])
    file = _professional(session, caller, who)
    roles = [res.practitioner_role(a) for a in file.assignments]
    if q.get("active") in ("true", "false"):
        roles = [r for r in roles if r["active"] == (q.get("active") == "true")]
    return Found(roles, len(roles))


# --- care pathways ------------------------------------------------------------------------------


def _referral(session: Session, caller: Caller, rid: str) -> ReferralOut:
    if not rid.isdigit():
        raise FhirError(404, f"Référence {rid} introuvable.", code="not-found")
    try:
        return pathways.get_referral(session, caller.principal, int(rid))
    except NotFound as exc:
        raise FhirError(404, f"Référence {rid} introuvable.", code="not-found") from exc


def read_service_request(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("ServiceRequest", "read")
    return res.service_request(_referral(session, caller, rid))


def read_task(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Task", "read")
    return res.task(_referral(session, caller, rid))


def _split_person(rid: str, marker: str) -> tuple[str, str]:
    person, sep, rest = rid.partition(f"-{marker}")
    if not sep or not person:
        raise FhirError(404, f"Identifiant inconnu : {rid}", code="not-found")
    return person, rest


def read_encounter(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Encounter", "read")
    person, _ = _split_person(rid, "E")
    for item in _timeline(session, caller, person).items:
        if item.encounter and res.encounter_id(person, item.encounter) == rid:
            return res.encounter(person, item.encounter)
    raise FhirError(404, f"Encounter/{rid} introuvable.", code="not-found")


def read_condition(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("Condition", "read")
    person, _ = _split_person(rid, "E")
    for item in _timeline(session, caller, person).items:
        if item.encounter:
            for c in res.conditions(person, item.encounter):
                if c["id"] == rid:
                    return c
    raise FhirError(404, f"Condition/{rid} introuvable.", code="not-found")


def read_episode(session: Session, caller: Caller, rid: str) -> dict[str, Any]:
    caller.need("EpisodeOfCare", "read")
    person, _ = _split_person(rid, "R")
    line = _timeline(session, caller, person)
    refs = [i.referral for i in line.items if i.referral and i.type == "referral"]
    for episode in res.episode_of_care(person, refs):
        if episode["id"] == rid:
            return episode
    raise FhirError(404, f"EpisodeOfCare/{rid} introuvable.", code="not-found")


PATHWAY_PARAMS = (
    ("patient", "reference", "la personne (Patient/P…) ; obligatoire sauf liste d'établissement"),
    ("subject", "reference", "comme patient"),
    ("status", "token", "statut FHIR"),
    ("date", "date", "début (Encounter), création (ServiceRequest, Task), enregistrement"),
    ("_lastUpdated", "date", "dernière modification"),
)


def _person_param(q: Query) -> str:
    value = q.get("patient") or q.get("subject")
    person = res.reference_id(value, "Patient") or value
    if not person:
        raise FhirError(
            400,
            "patient est requis (les parcours se lisent par personne).",
            code="required",
            where=["patient"],
        )
    return person


def _date_of(resource: Mapping[str, Any]) -> str | None:
    kind = resource["resourceType"]
    if kind == "Encounter":
        return str(resource["period"]["start"])
    if kind in ("ServiceRequest", "Task"):
        return str(resource["authoredOn"])
    if kind == "Condition":
        return str(resource["recordedDate"])
    if kind == "EpisodeOfCare":
        return str(resource["period"]["start"])
    return None


def _filter(q: Query, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    statuses = {s for v in q.all("status") for s in v.split(",")}
    dates = _dates(q, "date")
    updated = _dates(q, "_lastUpdated")
    out = []
    for r in items:
        if statuses and r.get("status") not in statuses:
            continue
        moment = _date_of(r)
        if dates and (
            moment is None
            or not all(
                d.matches(datetime.fromisoformat(moment.replace("Z", "+00:00"))) for d in dates
            )
        ):
            continue
        last = datetime.fromisoformat(r["meta"]["lastUpdated"].replace("Z", "+00:00"))
        if updated and not all(d.matches(last) for d in updated):
            continue
        out.append(r)
    return out


def _page(q: Query, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return items[(q.page - 1) * q.count : q.page * q.count]


def _pathway_search(
    session: Session,
    caller: Caller,
    q: Query,
    kind: str,
    build: Callable[[str, TimelineOut], list[dict[str, Any]]],
) -> Found:
    caller.need(kind, "read")
    org_params = ORG_PARAMS.get(kind, ())
    q.check(kind, [p[0] for p in PATHWAY_PARAMS] + [p[0] for p in org_params])
    if not (q.get("patient") or q.get("subject")) and any(q.get(p[0]) for p in org_params):
        return _worklist(session, caller, q, kind)
    person = _person_param(q)
    line = _timeline(session, caller, person)
    items = _filter(q, build(person, line))
    found = Found(_page(q, items), len(items))
    if f"{kind}:patient" in q.includes or f"{kind}:subject" in q.includes:
        caller.need("Patient", "read")
        found.included.append(read_patient(session, caller, person))
    elif q.includes:
        raise FhirError(400, f"_include non pris en charge : {', '.join(q.includes)}")
    return found


#: the establishment's worklists (the pathways inbox): what is addressed to it, what it sent
ORG_PARAMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ServiceRequest": (
        ("performer", "reference", "références ouvertes adressées à l'établissement"),
        ("requester", "reference", "références de l'établissement en attente"),
    ),
    "Task": (
        ("owner", "reference", "tâches ouvertes adressées à l'établissement"),
        ("requester", "reference", "tâches de l'établissement en attente"),
    ),
}


def _worklist(session: Session, caller: Caller, q: Query, kind: str) -> Found:
    """Open referrals of an establishment, a page of ``_count`` (the inbox's own order)."""
    incoming = q.get("performer") or q.get("owner")
    value = incoming or q.get("requester") or ""
    code = res.reference_id(value, "Organization") or value
    pages = InboxPages(incoming=q.page, outgoing=q.page)
    box = pathways.inbox(session, caller.principal, code, limit=q.count, pages=pages)
    refs, total = (
        (box.incoming, box.incoming_total) if incoming else (box.outgoing, box.outgoing_total)
    )
    build = res.service_request if kind == "ServiceRequest" else res.task
    items = _filter(q, [build(r) for r in refs])
    filtered = len(items) != len(refs)
    return Found(items, None if filtered else total)


def _referrals_of(line: TimelineOut) -> list[ReferralOut]:
    return [i.referral for i in line.items if i.referral and i.type == "referral"]


def search_encounter(session: Session, caller: Caller, q: Query) -> Found:
    return _pathway_search(
        session,
        caller,
        q,
        "Encounter",
        lambda p, line: [res.encounter(p, i.encounter) for i in line.items if i.encounter],
    )


def search_condition(session: Session, caller: Caller, q: Query) -> Found:
    return _pathway_search(
        session,
        caller,
        q,
        "Condition",
        lambda p, line: [
            c for i in line.items if i.encounter for c in res.conditions(p, i.encounter)
        ],
    )


def search_service_request(session: Session, caller: Caller, q: Query) -> Found:
    return _pathway_search(
        session,
        caller,
        q,
        "ServiceRequest",
        lambda p, line: [res.service_request(r) for r in _referrals_of(line)],
    )


def search_task(session: Session, caller: Caller, q: Query) -> Found:
    return _pathway_search(
        session, caller, q, "Task", lambda p, line: [res.task(r) for r in _referrals_of(line)]
    )


def search_episode(session: Session, caller: Caller, q: Query) -> Found:
    return _pathway_search(
        session,
        caller,
        q,
        "EpisodeOfCare",
        lambda p, line: res.episode_of_care(p, _referrals_of(line)),
    )


_PRIORITIES = {"asap": Priority.URGENT, "stat": Priority.URGENT, "urgent": Priority.PRIORITY}


def create_service_request(session: Session, caller: Caller, resource: Any) -> dict[str, Any]:
    """A referral, sent at once (``status`` draft keeps it a draft)."""
    caller.need("ServiceRequest", "write")
    data = resource.model_dump(mode="json", exclude_none=True)
    person = res.reference_id((data.get("subject") or {}).get("reference"), "Patient")
    source = res.reference_id((data.get("requester") or {}).get("reference"), "Organization")
    performers = data.get("performer") or [{}]
    destination = res.reference_id(performers[0].get("reference"), "Organization")
    codings = (data.get("code") or {}).get("coding") or [{}]
    specialty = codings[0].get("code")
    missing = [
        w
        for w, v in (
            ("ServiceRequest.subject", person),
            ("ServiceRequest.requester", source),
            ("ServiceRequest.code.coding.code", specialty),
        )
        if not v
    ]
    if missing:
        raise FhirError(400, "Éléments requis manquants : " + ", ".join(missing), where=missing)
    reason = " ".join(r.get("text", "") for r in data.get("reasonCode", [])).strip()
    notes = "\n".join(n.get("text", "") for n in data.get("note", [])).strip()
    try:
        referral = pathways.create_referral(
            session,
            caller.principal,
            ReferralIn(
                person_id=str(person),
                source=str(source),
                destination=destination,
                specialty=str(specialty),
                priority=_PRIORITIES.get(data.get("priority", "routine"), Priority.ROUTINE),
                reason=reason or "Référence reçue en FHIR",
                clinical_summary=notes or None,
                send=data.get("status") != "draft",
            ),
        )
    except NotFound as exc:
        raise FhirError(
            404, exc.render(), code="not-found", where=["ServiceRequest.subject"]
        ) from exc
    out = res.service_request(referral)
    remember(session, out, "POST")
    remember(session, res.task(referral), "POST")
    session.commit()
    return out


def update_task(
    session: Session, caller: Caller, rid: str, resource: Any, if_match: int | None
) -> dict[str, Any]:
    """A new Task.status drives the referral's state machine (409 when it refuses)."""
    caller.need("Task", "write")
    current = _referral(session, caller, rid)
    if if_match is not None and if_match != current.version:
        raise FhirError(
            412,
            f"Version {if_match} attendue, la version actuelle est {current.version}.",
            code="conflict",
        )
    data = resource.model_dump(mode="json", exclude_none=True)
    if data.get("id") not in (None, rid):
        raise FhirError(400, "Task.id ne correspond pas à l'URL.", where=["Task.id"])
    status = data.get("status")
    now_status = res.task(current)["status"]
    if status == now_status:
        return res.task(current)
    action = rules.TASK_STATUS_ACTIONS.get(str(status))
    if action is None:
        raise FhirError(
            409, f"Statut de tâche {status} non atteignable par un système.", code="business-rule"
        )
    reason = (data.get("statusReason") or {}).get("text")
    period = (data.get("restriction") or {}).get("period") or {}
    outputs = [o.get("valueString") for o in data.get("output", []) if o.get("valueString")]
    appointment = (
        datetime.fromisoformat(period["start"].replace("Z", "+00:00"))
        if period.get("start")
        else None
    )
    moved = pathways.transition(
        session,
        caller.principal,
        int(rid),
        TransitionIn(
            action=Action(action),
            reason=reason,
            appointment_at=appointment,
            counter_referral=outputs[0] if outputs else None,
            expected_version=current.version,
        ),
    )
    out = res.task(moved)
    remember(session, out, "PUT")
    remember(session, res.service_request(moved), "PUT")
    session.commit()
    return out


def create_encounter(session: Session, caller: Caller, resource: Any) -> dict[str, Any]:
    caller.need("Encounter", "write")
    data = resource.model_dump(mode="json", exclude_none=True)
    person = res.reference_id((data.get("subject") or {}).get("reference"), "Patient")
    where = res.reference_id((data.get("serviceProvider") or {}).get("reference"), "Organization")
    kinds = {v: k for k, v in res._ENCOUNTER_CLASS.items()}
    kind = kinds.get((data.get("class") or {}).get("code", ""))
    missing = [
        w
        for w, v in (
            ("Encounter.subject", person),
            ("Encounter.serviceProvider", where),
            ("Encounter.class", kind),
        )
        if not v
    ]
    if missing:
        raise FhirError(400, "Éléments requis manquants : " + ", ".join(missing), where=missing)
    codings = (data.get("serviceType") or {}).get("coding") or [{}]
    period = data.get("period") or {}

    def moment(key: str) -> datetime | None:
        return datetime.fromisoformat(period[key].replace("Z", "+00:00")) if key in period else None

    basis = [
        res.reference_id(b.get("reference"), "ServiceRequest") for b in data.get("basedOn", [])
    ]
    out: EncounterOut = pathways.record_encounter(
        session,
        caller.principal,
        EncounterIn(
            person_id=str(person),
            establishment=str(where),
            kind=EncounterKind(str(kind)).value,
            specialty=codings[0].get("code"),
            start_at=moment("start"),
            end_at=moment("end"),
            referral_id=int(basis[0]) if basis and basis[0] and basis[0].isdigit() else None,
        ),
    )
    resource_out = res.encounter(str(person), out)
    remember(session, resource_out, "POST")
    session.commit()
    return resource_out


# --- the audit trail ------------------------------------------------------------------------------


def search_audit_event(session: Session, caller: Caller, q: Query) -> Found:
    caller.need("AuditEvent", "read")
    require(caller.principal, Permission.AUDIT_READ)
    q.check("AuditEvent", ["entity-type", "entity-id", "agent", "action", "date"])
    since = None
    for d in _dates(q, "date"):
        if d.prefix not in ("ge", "gt"):
            raise FhirError(400, "date : seuls ge et gt sont pris en charge.", where=["date"])
        since = d.start if d.prefix == "ge" else d.end
    total, rows = audit.list_events(
        session,
        entity_type=q.get("entity-type"),
        entity_id=q.get("entity-id"),
        actor=q.get("agent"),
        action=q.get("action"),
        since=since,
        limit=q.count,
        offset=(q.page - 1) * q.count,
    )
    return Found([res.audit_event(e) for e in rows], total)


# --- the registry of handlers (what the CapabilityStatement says) ------------------------------

HANDLERS: dict[str, Handler] = {
    h.kind: h
    for h in (
        Handler(
            "Patient",
            read=read_patient,
            search=search_patient,
            create=create_patient,
            search_params=PATIENT_PARAMS,
            revincludes=("Encounter:patient", "ServiceRequest:patient", "Task:patient"),
            conditional_create=True,
            operations=("match", "everything"),
        ),
        Handler(
            "Organization",
            read=read_organization,
            search=search_organization,
            search_params=REGISTRY_PARAMS,
        ),
        Handler(
            "Location", read=read_location, search=search_location, search_params=REGISTRY_PARAMS
        ),
        Handler(
            "HealthcareService",
            read=read_healthcare_service,
            search=search_healthcare_service,
            search_params=(
                ("_id", "token", "code.specialité"),
                ("organization", "reference", "l'établissement, obligatoire"),
            ),
        ),
        Handler(
            "Practitioner",
            read=read_practitioner,
            search=search_practitioner,
            search_params=(
                ("_id", "token", "identifiant du professionnel"),
                ("identifier", "token", "INPE"),
                ("name", "string", "nom ou INPE"),
            ),
        ),
        Handler(
            "PractitionerRole",
            search=search_practitioner_role,
            search_params=(
                ("practitioner", "reference", "le professionnel, obligatoire"),
                ("active", "token", "affectations en cours"),
            ),
            versioned=False,
        ),
        Handler(
            "Encounter",
            read=read_encounter,
            search=search_encounter,
            create=create_encounter,
            search_params=PATHWAY_PARAMS,
            includes=("Encounter:patient",),
        ),
        Handler(
            "EpisodeOfCare",
            read=read_episode,
            search=search_episode,
            search_params=PATHWAY_PARAMS,
            includes=("EpisodeOfCare:patient",),
        ),
        Handler(
            "ServiceRequest",
            read=read_service_request,
            search=search_service_request,
            create=create_service_request,
            search_params=PATHWAY_PARAMS + ORG_PARAMS["ServiceRequest"],
            includes=("ServiceRequest:patient",),
        ),
        Handler(
            "Task",
            read=read_task,
            search=search_task,
            update=update_task,
            search_params=PATHWAY_PARAMS + ORG_PARAMS["Task"],
            includes=("Task:patient",),
        ),
        Handler(
            "Condition",
            read=read_condition,
            search=search_condition,
            search_params=PATHWAY_PARAMS,
            includes=("Condition:patient",),
        ),
        Handler(
            "AuditEvent",
            search=search_audit_event,
            search_params=(
                ("entity-type", "token", "type de l'entité"),
                ("entity-id", "token", "identifiant de l'entité"),
                ("agent", "string", "auteur"),
                ("action", "token", "action (famille pointée)"),
                ("date", "date", "depuis (ge, gt)"),
            ),
            versioned=False,
        ),
    )
}


def handler(kind: str) -> Handler:
    found = HANDLERS.get(kind)
    if found is None:
        raise FhirError(404, f"Type de ressource non pris en charge : {kind}", code="not-supported")
    return found


def read(session: Session, caller: Caller, kind: str, rid: str) -> dict[str, Any]:
    h = handler(kind)
    if h.read is None:
        raise FhirError(
            405, f"Lecture directe de {kind} non prise en charge.", code="not-supported"
        )
    return res.checked(h.read(session, caller, rid))


def _read_and_keep(session: Session, caller: Caller, kind: str, rid: str) -> dict[str, Any]:
    """A read (scope check and audit) whose version is kept before history answers.

    Plain reads keep nothing (a write per read halved their rate): a version made
    in the pages is kept when a history or vread first asks for it, or when the
    façade writes the resource.
    """
    out = read(session, caller, kind, rid)
    if handler(kind).versioned and "meta" in out:
        remember(session, out)
        session.commit()
    return out


def vread(session: Session, caller: Caller, kind: str, rid: str, version: str) -> dict[str, Any]:
    _read_and_keep(session, caller, kind, rid)
    if not version.isdigit():
        raise FhirError(404, f"Version {version} introuvable.", code="not-found")
    for row in _versions(session, kind, rid):
        if row.version_id == int(version):
            return row.content
    raise FhirError(
        404,
        f"{kind}/{rid} : la version {version} n'a pas été conservée par la façade.",
        code="not-found",
    )


def history(session: Session, caller: Caller, kind: str, rid: str, base: str) -> dict[str, Any]:
    _read_and_keep(session, caller, kind, rid)
    rows = _versions(session, kind, rid)
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(rows),
        "entry": [
            {
                "fullUrl": f"{base}/{kind}/{rid}",
                "resource": row.content,
                "request": {
                    "method": row.method if row.method != "GET" else "PUT",
                    "url": f"{kind}/{rid}" if row.method != "POST" else kind,
                },
                "response": {
                    "status": "201 Created" if row.method == "POST" else "200 OK",
                    "etag": rules.etag(row.version_id),
                    "lastModified": res.instant(row.last_updated),
                },
            }
            for row in rows
        ],
    }


def search(
    session: Session, caller: Caller, kind: str, query_string: str, base: str
) -> dict[str, Any]:
    h = handler(kind)
    if h.search is None:
        raise FhirError(405, f"Recherche de {kind} non prise en charge.", code="not-supported")
    q = Query.parse(query_string)
    for given, known, name in (
        (q.includes, h.includes, "_include"),
        (q.revincludes, h.revincludes, "_revinclude"),
    ):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise FhirError(
                400,
                f"{name} non pris en charge pour {kind} : {', '.join(unknown)}",
                code="not-supported",
                where=[name],
            )
    found = h.search(session, caller, q)
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": res.checked(r),
            "search": {"mode": "match"},
        }
        for r in found.matches
    ]
    seen = {(r["resourceType"], r["id"]) for r in found.matches}
    for r in found.included:
        if (r["resourceType"], r["id"]) in seen:
            continue
        seen.add((r["resourceType"], r["id"]))
        entries.append(
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": res.checked(r),
                "search": {"mode": "include"},
            }
        )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if found.total is not None:
        bundle["total"] = found.total
    bundle["link"] = _links(base, kind, q, found)
    bundle["entry"] = entries
    return bundle


def _links(base: str, kind: str, q: Query, found: Found) -> list[dict[str, str]]:
    def url(page: int) -> str:
        params = [*q.params, ("_count", str(q.count)), ("_page", str(page))]
        params += [("_include", i) for i in q.includes]
        params += [("_revinclude", i) for i in q.revincludes]
        return f"{base}/{kind}?{urlencode(params)}"

    links = [{"relation": "self", "url": url(q.page)}]
    more = (
        found.total > q.page * q.count if found.total is not None else len(found.matches) >= q.count
    )
    if more:
        links.append({"relation": "next", "url": url(q.page + 1)})
    if q.page > 1:
        links.append({"relation": "previous", "url": url(q.page - 1)})
    return links


def create(
    session: Session, caller: Caller, kind: str, body: Any, if_none_exist: str | None
) -> tuple[int, dict[str, Any]]:
    """201 and the new resource, or 200 and the one ``If-None-Exist`` found."""
    h = handler(kind)
    if h.create is None:
        raise FhirError(405, f"Création de {kind} non prise en charge.", code="not-supported")
    resource = res.parse(body, kind)
    if if_none_exist:
        if not h.conditional_create:
            raise FhirError(400, f"Création conditionnelle de {kind} non prise en charge.")
        ids = conditional_matches(session, caller, kind, if_none_exist)
        if len(ids) > 1:
            raise FhirError(
                412,
                f"If-None-Exist trouve {len(ids)} ressources : critère trop large.",
                code="duplicate",
            )
        if ids:
            return 200, read(session, caller, kind, ids[0])
    return 201, res.checked(h.create(session, caller, resource))


def update(
    session: Session, caller: Caller, kind: str, rid: str, body: Any, if_match: int | None
) -> dict[str, Any]:
    h = handler(kind)
    if h.update is None:
        why = (
            " Les fiches de l'IMP ne se modifient pas : enregistrez une nouvelle fiche "
            "(POST Patient) ou corrigez les liens dans Parcours."
            if kind == "Patient"
            else ""
        )
        raise FhirError(
            405, f"Mise à jour de {kind} non prise en charge.{why}", code="not-supported"
        )
    resource = res.parse(body, kind)
    return res.checked(h.update(session, caller, rid, resource, if_match))


def current_version(session: Session, caller: Caller, kind: str, rid: str) -> int:
    return int(read(session, caller, kind, rid)["meta"]["versionId"])


def capability(base: str) -> dict[str, Any]:
    """The CapabilityStatement, read from :data:`HANDLERS` (what the router dispatches)."""
    entries = []
    for kind in rules.RESOURCE_TYPES:
        h = HANDLERS[kind]
        interactions = []
        if h.read:
            interactions.append("read")
            if h.versioned:
                interactions += ["vread", "history-instance"]
        if h.search:
            interactions.append("search-type")
        if h.create:
            interactions.append("create")
        if h.update:
            interactions.append("update")
        entry: dict[str, Any] = {
            "type": kind,
            "interaction": [{"code": c} for c in interactions],
            "versioning": "versioned" if h.versioned else "no-version",
            "readHistory": h.versioned and h.read is not None,
            "updateCreate": False,
            "conditionalCreate": h.conditional_create,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": [
                {"name": n, "type": t, "documentation": d} for n, t, d in h.search_params
            ]
            + [
                {"name": "_count", "type": "number", "documentation": f"au plus {MAX_COUNT}"},
                {"name": "_page", "type": "number", "documentation": "page (à partir de 1)"},
            ],
        }
        if h.includes:
            entry["searchInclude"] = list(h.includes)
        if h.revincludes:
            entry["searchRevInclude"] = list(h.revincludes)
        if h.operations:
            entry["operation"] = [
                {"name": op, "definition": f"http://hl7.org/fhir/OperationDefinition/Patient-{op}"}
                for op in h.operations
            ]
        entries.append(entry)
    return res.checked(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-03",
            "publisher": "GST Tanger-Tétouan-Al Hoceïma",
            "kind": "instance",
            "software": {"name": "Parcours", "version": "0.1.0"},
            "implementation": {"description": "Façade FHIR R4 de Parcours", "url": base},
            "fhirVersion": "4.0.1",
            # XML is written (reads, searches, $everything, metadata), not read
            "format": ["application/fhir+json", "json", "application/fhir+xml", "xml"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/"
                                        "restful-security-service",
                                        "code": "SMART-on-FHIR",
                                    }
                                ]
                            }
                        ],
                        "description": "OAuth2 client credentials sur POST /fhir/auth/token ; "
                        "portées SMART system/<Type>.read|write.",
                    },
                    "resource": entries,
                    "interaction": [{"code": "transaction"}, {"code": "batch"}],
                    "operation": [
                        {
                            "name": "export",
                            "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                        }
                    ],
                }
            ],
        }
    )


# --- Bundles ---------------------------------------------------------------------------


@dataclass
class EntryResult:
    status: str
    resource: dict[str, Any] | None = None
    location: str | None = None
    outcome: dict[str, Any] | None = None


def _swap_references(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                ids.get(v, v)
                if k == "reference" and isinstance(v, str)
                else _swap_references(v, ids)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_swap_references(v, ids) for v in value]
    return value


def bundle_entry(
    session: Session, caller: Caller, entry: Mapping[str, Any], base: str
) -> EntryResult:
    """One entry of a batch or transaction, through the same paths as a single call."""
    request = entry.get("request") or {}
    method = str(request.get("method", "")).upper()
    url = str(request.get("url", "")).lstrip("/")
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    if method == "POST" and len(parts) == 1:
        status, out = create(
            session, caller, parts[0], entry.get("resource"), request.get("ifNoneExist")
        )
        return EntryResult(
            "201 Created" if status == 201 else "200 OK",
            out,
            f"{parts[0]}/{out['id']}/_history/{out['meta']['versionId']}",
        )
    if method == "PUT" and len(parts) == 2:
        try:
            if_match = rules.parse_etag(request.get("ifMatch"))
        except rules.SearchError as exc:
            raise FhirError(400, str(exc)) from exc
        out = update(session, caller, parts[0], parts[1], entry.get("resource"), if_match)
        return EntryResult(
            "200 OK", out, f"{parts[0]}/{parts[1]}/_history/{out['meta']['versionId']}"
        )
    if method == "GET" and len(parts) == 2:
        return EntryResult("200 OK", read(session, caller, parts[0], parts[1]))
    if method == "GET" and len(parts) == 1:
        return EntryResult("200 OK", search(session, caller, parts[0], query, base))
    raise FhirError(400, f"Requête de Bundle non prise en charge : {method} {url}")


def run_entries(
    session: Session,
    caller: Caller,
    entries: Sequence[Mapping[str, Any]],
    base: str,
    *,
    transaction: bool,
) -> list[EntryResult]:
    """Run the entries in order; in a transaction, an error stops at the entry (its index
    in ``FhirError.where``) and the caller rolls everything back."""
    ids: dict[str, str] = {}
    results: list[EntryResult] = []
    for n, raw in enumerate(entries):
        entry = dict(raw)
        if "resource" in entry:
            entry["resource"] = _swap_references(entry["resource"], ids)
        try:
            result = bundle_entry(session, caller, entry, base)
        except DomainError as exc:
            if transaction:
                status = (
                    exc.status_code if exc.status_code in (400, 403, 404, 409, 412, 422) else 400
                )
                where = getattr(exc, "where", [])
                raise FhirError(
                    status,
                    f"Entrée {n} : {exc.render()}",
                    code=getattr(exc, "code", "invalid")
                    if isinstance(exc, FhirError)
                    else "processing",
                    where=[f"Bundle.entry[{n}]", *where],
                ) from exc
            session.rollback()
            results.append(
                EntryResult(f"{exc.status_code} {exc.code}", outcome=outcome(exc, exc.status_code))
            )
            continue
        if entry.get("fullUrl") and result.location:
            kind, rid = result.location.split("/")[:2]
            ids[str(entry["fullUrl"])] = f"{kind}/{rid}"
        results.append(result)
    return results


def bundle_response(kind: str, results: list[EntryResult], base: str) -> dict[str, Any]:
    entries = []
    for r in results:
        entry: dict[str, Any] = {"response": {"status": r.status}}
        if r.resource is not None:
            entry["resource"] = r.resource
            if "id" in r.resource:
                entry["fullUrl"] = f"{base}/{r.resource['resourceType']}/{r.resource['id']}"
        if r.location:
            entry["response"]["location"] = r.location
            entry["response"]["etag"] = rules.etag(int(r.location.rsplit("/", 1)[-1]))
        if r.outcome is not None:
            entry["response"]["outcome"] = r.outcome
        entries.append(entry)
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": entries}


# --- OperationOutcome ------------------------------------------------------------------

_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    422: "processing",
}


def outcome(exc: Exception, status: int) -> dict[str, Any]:
    """An OperationOutcome for an error; ``diagnostics`` in French, the machine code kept."""
    message = exc.render() if isinstance(exc, DomainError) else str(exc)
    code = _ISSUE_CODES.get(status, "exception")
    issue: dict[str, Any] = {
        "severity": "error",
        "code": getattr(exc, "code", code) if isinstance(exc, FhirError) else code,
        "diagnostics": message,
    }
    if isinstance(exc, FhirError) and exc.where:
        issue["expression"] = exc.where
    elif isinstance(exc, DomainError):
        issue["details"] = {"coding": [{"code": exc.code}], "text": message}
    if issue["code"] not in _VALID_ISSUE_CODES:
        issue["details"] = {"coding": [{"code": issue["code"]}], "text": message}
        issue["code"] = code
    return res.checked({"resourceType": "OperationOutcome", "issue": [issue]})


_VALID_ISSUE_CODES = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)


def audit_refusal(
    session: Session,
    caller: Caller | None,
    action: str,
    path: str,
    status: int,
    code: str,
    ip: str | None,
) -> None:
    """Refusals (no token, missing scope, outside the organisational scope) are traced,
    on channel ``fhir`` whether or not the caller could be identified."""
    audit.record(
        session,
        caller.principal if caller else anonymous(ip),
        action,
        "fhir_request",
        path,
        outcome="failure",
        details={"status": status, "code": code},
    )
    session.commit()


# --- loading files (``parcours fhir load``) ----------------------------------------------------


@dataclass(frozen=True)
class LoadOutcome:
    line: int
    status: str  # created | existing | rejected
    message: str = ""
    reference: str = ""


def system_caller(reason: str = "fhir-load") -> Caller:
    """The operator at the command line loading clinical data: a clinician's rights over
    the whole GST, every SMART scope (audited as ``cli``)."""
    from parcours.access.rules import ScopeKind

    principal = Principal(0, f"system:{reason}", Role.CLINICIAN, Scope(ScopeKind.GST), "cli")
    return Caller(principal, (rules.SmartScope("*", "*"),), reason)


def load_resources(
    session: Session, caller: Caller, items: Iterable[tuple[int, Any]]
) -> Iterator[LoadOutcome]:
    """Create each resource through the same path as ``POST /fhir/<type>``; a bad one is
    reported with its line and the rest go on (a Patient with an identifier already
    loaded through the façade is not created twice)."""
    for line, body in items:
        try:
            if isinstance(body, dict) and "__error__" in body:
                raise FhirError(400, str(body["__error__"]), code="structure")
            kind = body.get("resourceType") if isinstance(body, dict) else None
            if not isinstance(kind, str):
                raise FhirError(400, "resourceType manquant.", where=["resourceType"])
            condition = None
            if kind == "Patient" and body.get("identifier"):
                first = body["identifier"][0]
                if first.get("system") and first.get("value"):
                    condition = urlencode({"identifier": f"{first['system']}|{first['value']}"})
            status, out = create(session, caller, kind, body, condition)
        except DomainError as exc:
            session.rollback()
            where = ", ".join(getattr(exc, "where", []))
            yield LoadOutcome(line, "rejected", exc.render() + (f" [{where}]" if where else ""))
            continue
        yield LoadOutcome(
            line, "created" if status == 201 else "existing", reference=f"{kind}/{out['id']}"
        )


# --- bulk export ($export) -----------------------------------------------------------------------

EXPORT_TYPES = (
    "Organization",
    "Location",
    "HealthcareService",
    "Practitioner",
    "Patient",
    "Encounter",
    "Condition",
    "EpisodeOfCare",
    "ServiceRequest",
    "Task",
)
_PERSON_TYPES = frozenset(
    {"Patient", "Encounter", "Condition", "EpisodeOfCare", "ServiceRequest", "Task"}
)


def export_directory() -> Path:
    root = os.environ.get("PARCOURS_FHIR_EXPORT_DIR") or str(
        Path(tempfile.gettempdir()) / "parcours-fhir-export"
    )
    return Path(root)


def start_export(
    session: Session,
    caller: Caller,
    type_param: str | None,
    request_url: str,
    *,
    patients_only: bool,
) -> str:
    """Record the job (202 to the client); :func:`run_export` does the work in the background."""
    types = [t for t in (type_param or "").split(",") if t] or [
        t for t in EXPORT_TYPES if not patients_only or t in _PERSON_TYPES
    ]
    for t in types:
        if t not in EXPORT_TYPES:
            raise FhirError(400, f"_type : {t} n'est pas exportable.", where=["_type"])
        caller.need(t, "read")
    job = uuid.uuid4().hex
    session.add(
        FhirExportJob(
            id=job,
            client_id=caller.client_id,
            request_url=request_url[:500],
            types=",".join(types),
            status="accepted",
            created_at=utcnow(),
            output=[],
        )
    )
    audit.record(
        session, caller.principal, "fhir.export", "fhir_export", job, details={"types": types}
    )
    session.commit()
    return job


def _establishment_codes(session: Session, caller: Caller) -> list[str]:
    codes: list[str] = []
    page = 1
    while True:
        found = territory.search_establishments(
            session, caller.principal, territory.EstablishmentFilter(), page=page, page_size=200
        )
        codes += [e.code for e in found.items]
        if page * found.page_size >= found.total:
            return codes
        page += 1


def _export_rows(session: Session, caller: Caller, types: list[str]) -> Iterator[dict[str, Any]]:
    wanted = set(types)
    if wanted & {"Organization", "Location", "HealthcareService"}:
        for code in _establishment_codes(session, caller):
            est = territory.get_establishment(session, caller.principal, code)
            if "Organization" in wanted:
                yield res.organization(est)
            if "Location" in wanted:
                yield res.location(est)
            if "HealthcareService" in wanted:
                yield from res.healthcare_services(est)
    if "Practitioner" in wanted:
        page = 1
        while True:
            found = workforce.search_professionals(
                session, caller.principal, workforce.ProfessionalFilter(), page, 200
            )
            yield from (res.practitioner(p) for p in found.items)
            if page * found.page_size >= found.total:
                break
            page += 1
    if wanted & _PERSON_TYPES:
        persons = list(dict.fromkeys(p for _, p in patients.export_links(session) if p))
        for person_id in persons:
            try:
                if "Patient" in wanted:
                    yield read_patient(session, caller, person_id)
                if not wanted & (_PERSON_TYPES - {"Patient"}):
                    continue
                line = pathways.timeline(session, caller.principal, person_id)
            except DomainError:
                continue  # outside the client's scope: not part of its export
            refs = _referrals_of(line)
            for item in line.items:
                if item.encounter is not None:
                    if "Encounter" in wanted:
                        yield res.encounter(person_id, item.encounter)
                    if "Condition" in wanted:
                        yield from res.conditions(person_id, item.encounter)
            if "ServiceRequest" in wanted:
                yield from (res.service_request(r) for r in refs)
            if "Task" in wanted:
                yield from (res.task(r) for r in refs)
            if "EpisodeOfCare" in wanted:
                yield from res.episode_of_care(person_id, refs)


def run_export(factory: Callable[[], Session], caller: Caller, job_id: str) -> None:
    """Write one NDJSON file per type, then mark the job complete (or failed, with why)."""
    folder = export_directory() / job_id
    folder.mkdir(parents=True, exist_ok=True)
    with factory() as session:
        job = session.get(FhirExportJob, job_id)
        if job is None:
            return
        types = job.types.split(",")
        session.rollback()
        try:
            files: dict[str, Any] = {}
            counts: dict[str, int] = {}
            try:
                for resource in _export_rows(session, caller, types):
                    kind = resource["resourceType"]
                    if kind not in files:
                        files[kind] = (folder / f"{kind}.ndjson").open("w", encoding="utf-8")
                        counts[kind] = 0
                    files[kind].write(json.dumps(res.checked(resource), ensure_ascii=False) + "\n")
                    counts[kind] += 1
            finally:
                for f in files.values():
                    f.close()
            session.rollback()
            job = session.get(FhirExportJob, job_id)
            assert job is not None
            job.status = "complete"
            job.completed_at = utcnow()
            job.output = [{"type": k, "count": counts[k]} for k in types if k in counts]
            session.commit()
        except Exception as exc:  # the job reports it; the server goes on
            session.rollback()
            job = session.get(FhirExportJob, job_id)
            if job is not None:
                job.status = "error"
                job.error = str(exc)[:2000]
                job.completed_at = utcnow()
                session.commit()


def _job(session: Session, caller: Caller, job_id: str) -> FhirExportJob:
    job = session.get(FhirExportJob, job_id)
    if job is None or job.client_id != caller.client_id:
        raise FhirError(404, "Export introuvable.", code="not-found")
    return job


def export_status(
    session: Session, caller: Caller, job_id: str, base: str
) -> tuple[int, dict[str, Any] | None]:
    """202 while it runs; 200 and the manifest when done; 500 with the error if it failed."""
    job = _job(session, caller, job_id)
    if job.status == "accepted":
        return 202, None
    if job.status == "error":
        raise FhirError(500, f"L'export a échoué : {job.error}", code="exception")
    return 200, {
        "transactionTime": res.instant(job.created_at),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": o["type"],
                "url": f"{base}/$export-file/{job.id}/{o['type']}.ndjson",
                "count": o["count"],
            }
            for o in job.output
        ],
        "error": [],
    }


def export_file(session: Session, caller: Caller, job_id: str, name: str) -> Path:
    job = _job(session, caller, job_id)
    kind = name.removesuffix(".ndjson")
    if job.status != "complete" or kind not in job.types.split(",") or not name.endswith(".ndjson"):
        raise FhirError(404, "Fichier introuvable.", code="not-found")
    path = export_directory() / job.id / name
    if not path.is_file():
        raise FhirError(404, "Fichier introuvable.", code="not-found")
    return path
