"""Parcours' answers as FHIR R4 resources, and FHIR input as Parcours' inputs.

Which Patient: a FHIR Patient here is the MPI's *person* (the golden record,
id ``P00000001``), carrying the identifiers of all its source records (CIN,
AMO number, each establishment's IPP). A create registers one more source
record at the client's establishment; the MPI then decides, as it does at the
desk, whether that record joins an existing person — OpenCR's model, seen from
the golden side, so that Encounters and ServiceRequests (which hang from the
person) point at a stable id.

Every resource built here is checked against the ``fhir.resources`` R4B models
before it leaves (:func:`checked`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from parcours.errors import DomainError
from parcours.pathways.schemas import EncounterOut, ReferralOut
from parcours.patients.schemas import CandidateOut, PersonBrief, PersonOut, RecordIn
from parcours.territory.schemas import EstablishmentBrief, EstablishmentOut
from parcours.workforce.schemas import AssignmentOut, ProfessionalBrief, ProfessionalFile

SID = "https://parcours.sante.ma/fhir/sid/"
CIN_SYSTEM = SID + "cin"
AMO_SYSTEM = SID + "amo"
IPP_SYSTEM = SID + "ipp/"  # followed by the establishment code
INPE_SYSTEM = SID + "inpe"
EST_SYSTEM = SID + "establishment"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
SPECIALTY_SYSTEM = "https://parcours.sante.ma/fhir/CodeSystem/specialty"


class FhirError(DomainError):
    """An error answered as an OperationOutcome; ``where`` names the bad element."""

    def __init__(
        self, status: int, message: str, *, code: str = "invalid", where: list[str] | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status_code = status
        self.where = where or []


def instant(value: datetime) -> str:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meta(version: int, updated: datetime) -> dict[str, Any]:
    return {"versionId": str(version), "lastUpdated": instant(updated)}


def model_of(resource: dict[str, Any]) -> Any:
    """The R4B model of a resource already checked (for the XML form)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _pruned(value: Any) -> Any:
    """Without empty strings, lists and objects, which FHIR forbids (an unknown town is
    no town, not "")."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ("", None, [], {})}
    if isinstance(value, list):
        items = [_pruned(v) for v in value]
        return [v for v in items if v not in ("", None, [], {})]
    return value


def checked(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without empty elements, after the R4B model accepted it (a failure
    here is a bug of the façade, not of the caller)."""
    clean: dict[str, Any] = _pruned(resource)
    get_fhir_model_class(clean["resourceType"]).model_validate(clean)
    return clean


def _loc(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")


def parse(body: Any, expected: str | None = None) -> Any:
    """Read a resource sent by a client: 400 naming each bad element otherwise."""
    if not isinstance(body, dict):
        raise FhirError(400, "Le corps doit être une ressource FHIR en JSON.", code="structure")
    kind = body.get("resourceType")
    if not isinstance(kind, str):
        raise FhirError(400, "resourceType manquant.", code="structure", where=["resourceType"])
    if expected and kind != expected:
        raise FhirError(
            400,
            f"Ressource {kind} reçue là où {expected} est attendu.",
            code="structure",
            where=["resourceType"],
        )
    try:
        model = get_fhir_model_class(kind)
    except KeyError as exc:
        raise FhirError(
            400, f"Type de ressource inconnu : {kind}", code="structure", where=["resourceType"]
        ) from exc
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        where = [f"{kind}.{_loc(e)}" if _loc(e) else kind for e in errors]
        detail = "; ".join(f"{w} : {e['msg']}" for w, e in zip(where, errors, strict=True))
        raise FhirError(400, f"Ressource {kind} invalide — {detail}", where=where) from exc


def reference_id(reference: str | None, kind: str) -> str | None:
    """``Patient/P00000001`` (or a full URL ending so) → ``P00000001``."""
    if not reference:
        return None
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == kind:
        return parts[-1]
    return None


# --- Patient ----------------------------------------------------------------------------

_GENDER = {"M": "male", "F": "female"}
_SEX = {"male": "M", "female": "F"}


def _identifiers_of(person: PersonOut) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in person.identifiers:
        if i.kind == "cin":
            out.append({"use": "official", "system": CIN_SYSTEM, "value": i.value})
        elif i.kind == "amo":
            out.append({"use": "secondary", "system": AMO_SYSTEM, "value": i.value})
        elif i.establishment:
            out.append(
                {
                    "use": "usual",
                    "system": IPP_SYSTEM + i.establishment,
                    "value": i.value,
                    "assigner": {"reference": f"Organization/{i.establishment}"},
                }
            )
    return out


def patient_version(person: PersonOut) -> tuple[int, datetime]:
    """A person changes only by link events (records are never edited): their count is
    its version, the latest one its last update."""
    moments = [e.at for e in person.history] or [r.registered_at for r in person.records]
    return max(1, len(person.history)), max(moments) if moments else datetime.now(UTC)


def patient(person: PersonOut) -> dict[str, Any]:
    version, updated = patient_version(person)
    names: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for r in person.records:
        for given, family in ((r.given_name, r.family_name), (r.given_name_ar, r.family_name_ar)):
            if not (given or family) or (given or "", family or "") in seen:
                continue
            seen.add((given or "", family or ""))
            name: dict[str, Any] = {"text": " ".join(x for x in (given, family) if x)}
            if family:
                name["family"] = family
            if given:
                name["given"] = given.split()
            name["use"] = "official" if not names else "usual"
            names.append(name)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person.person_id,
        "meta": meta(version, updated),
        "identifier": _identifiers_of(person),
        "active": person.status == "active",
        "name": names or [{"text": person.display_name}],
        "gender": _GENDER.get(person.sex or "", "unknown"),
    }
    if person.birth_date:
        resource["birthDate"] = person.birth_date
    phones = sorted({r.phone for r in person.records if r.phone})
    if phones:
        resource["telecom"] = [{"system": "phone", "value": p} for p in phones]
    addresses = [r for r in person.records if r.address or r.commune]
    if addresses:
        last = addresses[-1]
        address: dict[str, Any] = {"country": "MA"}
        if last.address:
            address["text"] = last.address
        if last.commune:
            address["city"] = last.commune
        resource["address"] = [address]
    establishments = [r.establishment for r in person.records if r.establishment]
    if establishments:
        resource["managingOrganization"] = {"reference": f"Organization/{establishments[0]}"}
    return resource


def patient_brief(brief: PersonBrief | CandidateOut) -> dict[str, Any]:
    """What a search shows of a person: minimal demographics (law 09-08), no identifiers."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": brief.person_id,
        "name": [{"text": brief.display_name}],
        "gender": _GENDER.get(brief.sex or "", "unknown"),
    }
    if brief.birth_date:
        resource["birthDate"] = brief.birth_date
    if isinstance(brief, PersonBrief) and brief.establishments:
        resource["managingOrganization"] = {"reference": f"Organization/{brief.establishments[0]}"}
    return resource


def record_in(resource: Any, default_establishment: str | None) -> RecordIn:
    """A FHIR Patient (validated model) as a registration at an establishment."""
    data = resource.model_dump(mode="json", exclude_none=True)
    values: dict[str, Any] = {}
    establishment = reference_id(
        (data.get("managingOrganization") or {}).get("reference"), "Organization"
    )
    for ident in data.get("identifier", []):
        system, value = ident.get("system", ""), ident.get("value")
        if not value:
            continue
        # the first of each kind: a person seen at several establishments carries
        # several IPPs, and a registration is at one of them
        if system == CIN_SYSTEM:
            values.setdefault("cin", value)
        elif system == AMO_SYSTEM:
            values.setdefault("amo_number", value)
        elif system.startswith(IPP_SYSTEM) and "local_id" not in values:
            values["local_id"] = value
            establishment = establishment or system[len(IPP_SYSTEM) :]
    latin = [n for n in data.get("name", []) if not _is_arabic(n)]
    arabic = [n for n in data.get("name", []) if _is_arabic(n)]
    if latin:
        values["family_name"] = latin[0].get("family")
        values["given_name"] = " ".join(latin[0].get("given", [])) or None
    if arabic:
        values["family_name_ar"] = arabic[0].get("family")
        values["given_name_ar"] = " ".join(arabic[0].get("given", [])) or None
    if "gender" in data:
        values["sex"] = _SEX.get(data["gender"])
    if "birthDate" in data:
        values["birth_date"] = data["birthDate"]
    phones = [t["value"] for t in data.get("telecom", []) if t.get("system") == "phone"]
    if phones:
        values["phone"] = phones[0]
    for a in data.get("address", [])[:1]:
        values["address"] = a.get("text") or ", ".join(a.get("line", [])) or None
        values["commune"] = a.get("city")
    values["establishment"] = establishment or default_establishment
    try:
        return RecordIn(**values)
    except pydantic.ValidationError as exc:
        where = [f"Patient.{_loc(e)}" for e in exc.errors()]
        raise FhirError(400, "Patient : valeur trop longue ou illisible.", where=where) from exc


def _is_arabic(name: Mapping[str, Any]) -> bool:
    text = " ".join([name.get("family", ""), *name.get("given", []), name.get("text", "")])
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def match_entry(candidate: CandidateOut, base: str) -> dict[str, Any]:
    grade = {"link": "certain", "review": "probable"}.get(candidate.decision, "possible")
    return {
        "fullUrl": f"{base}/Patient/{candidate.person_id}",
        "resource": checked(patient_brief(candidate)),
        "search": {
            "mode": "match",
            "score": round(candidate.probability, 4),
            "extension": [{"url": MATCH_GRADE, "valueCode": grade}],
        },
    }


# --- the registry ---------------------------------------------------------------------------


def organization(e: EstablishmentOut | EstablishmentBrief) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": e.code,
        "identifier": [{"system": EST_SYSTEM, "value": e.code}],
        "active": e.status == "open",
        "type": [{"text": e.type_label}],
        "name": e.name,
        "address": [{"city": e.town, "state": e.province, "country": "MA"}],
    }
    if isinstance(e, EstablishmentOut):
        resource["meta"] = meta(e.version, e.updated_at)
        if e.name_ar:
            resource["alias"] = [e.name_ar]
        if e.phone:
            resource["telecom"] = [{"system": "phone", "value": e.phone}]
        if e.address:
            resource["address"][0]["text"] = e.address
    return resource


def location(e: EstablishmentOut) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": e.code,
        "meta": meta(e.version, e.updated_at),
        "status": "active" if e.status == "open" else "inactive",
        "name": e.name,
        "mode": "instance",
        "managingOrganization": {"reference": f"Organization/{e.code}"},
        "address": {"city": e.town, "state": e.province, "country": "MA"},
    }
    if e.latitude is not None and e.longitude is not None:
        resource["position"] = {"latitude": e.latitude, "longitude": e.longitude}
    return resource


def healthcare_services(e: EstablishmentOut) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "HealthcareService",
            "id": f"{e.code}.{s.specialty}".replace("_", "-"),
            "meta": meta(e.version, e.updated_at),
            "active": e.status == "open",
            "providedBy": {"reference": f"Organization/{e.code}"},
            "location": [{"reference": f"Location/{e.code}"}],
            "specialty": [
                {
                    "coding": [{"system": SPECIALTY_SYSTEM, "code": s.specialty}],
                    "text": s.specialty_name,
                }
            ],
            "name": s.specialty_name,
            "comment": f"{s.beds} lits",
        }
        for s in e.services
    ]


# --- the workforce -----------------------------------------------------------------------------


def practitioner(p: ProfessionalFile | ProfessionalBrief) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(p.id),
        # active: working somewhere in the GST now (the employment status is a contract type)
        "active": any(a.active for a in p.assignments)
        if isinstance(p, ProfessionalFile)
        else p.main_establishment is not None,
        "name": [{"family": p.family_name, "given": p.given_name.split(), "use": "official"}],
        "gender": p.sex.value,
    }
    if p.inpe:
        resource["identifier"] = [{"system": INPE_SYSTEM, "value": p.inpe}]
    if isinstance(p, ProfessionalFile):
        updated = max((h.changed_at for h in p.history), default=datetime.now(UTC))
        resource["meta"] = meta(p.version, updated)
        if p.birth_date:
            resource["birthDate"] = p.birth_date.isoformat()
        resource["qualification"] = [{"code": {"text": p.category_label}}]
    return resource


def practitioner_role(a: AssignmentOut) -> dict[str, Any]:
    period: dict[str, Any] = {"start": a.start_on.isoformat()}
    if a.end_on:
        period["end"] = a.end_on.isoformat()
    return {
        "resourceType": "PractitionerRole",
        "id": str(a.id),
        "active": a.active,
        "period": period,
        "practitioner": {"reference": f"Practitioner/{a.professional_id}"},
        "organization": {
            "reference": f"Organization/{a.establishment}",
            "display": a.establishment_name,
        },
        "specialty": [
            {"coding": [{"system": SPECIALTY_SYSTEM, "code": a.service}], "text": a.service_name}
        ],
    }


# --- care pathways -----------------------------------------------------------------------------

_ENCOUNTER_CLASS = {"consultation": "AMB", "emergency": "EMER", "admission": "IMP"}


def encounter_id(person: str, enc: EncounterOut) -> str:
    """``P00000001-E17``: the person is part of the id, since encounters are read
    through the person's timeline (the audited path of the pathways context)."""
    return f"{person}-E{enc.id}"


def encounter(person: str, e: EncounterOut) -> dict[str, Any]:
    period: dict[str, Any] = {"start": instant(e.start_at)}
    if e.end_at:
        period["end"] = instant(e.end_at)
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": encounter_id(person, e),
        "meta": meta(2 if e.end_at else 1, e.end_at or e.start_at),
        "status": "finished" if e.end_at else "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": _ENCOUNTER_CLASS.get(e.kind.value, "AMB"),
            "display": e.kind_label,
        },
        "subject": {"reference": f"Patient/{person}"},
        "serviceProvider": {"reference": f"Organization/{e.establishment}"},
        "period": period,
    }
    if e.specialty:
        resource["serviceType"] = {
            "coding": [{"system": SPECIALTY_SYSTEM, "code": e.specialty}],
            "text": e.specialty_name or e.specialty,
        }
    if e.referral_id:
        resource["basedOn"] = [{"reference": f"ServiceRequest/{e.referral_id}"}]
    if e.diagnoses:
        resource["diagnosis"] = [
            {
                "condition": {"reference": f"Condition/{condition_id(person, e, d.rank)}"},
                "rank": d.rank,
            }
            for d in e.diagnoses
        ]
    return resource


def condition_id(person: str, e: EncounterOut, rank: int) -> str:
    return f"{person}-E{e.id}-{rank}"


def conditions(person: str, e: EncounterOut) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Condition",
            "id": condition_id(person, e, d.rank),
            "meta": meta(1, e.start_at),
            "code": {
                "coding": [
                    {
                        "system": ICD10_SYSTEM,
                        "code": d.code,
                        **({"display": d.label} if d.label else {}),
                    }
                ],
                "text": d.label or d.code,
            },
            "subject": {"reference": f"Patient/{person}"},
            "encounter": {"reference": f"Encounter/{encounter_id(person, e)}"},
            "recordedDate": instant(e.start_at),
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "encounter-diagnosis",
                        }
                    ]
                }
            ],
        }
        for d in e.diagnoses
    ]


def _referral_updated(r: ReferralOut) -> datetime:
    return r.last_event_at or r.created_at


def service_request(r: ReferralOut) -> dict[str, Any]:
    from parcours.pathways.referral import Priority, ReferralState

    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(r.id),
        "meta": meta(r.version, _referral_updated(r)),
        "status": ReferralState(r.state).fhir_request_status,
        "intent": "order",
        "priority": Priority(r.priority).fhir_code,
        "category": [{"text": "Référence"}],
        "code": {
            "coding": [{"system": SPECIALTY_SYSTEM, "code": r.specialty}],
            "text": r.specialty_name,
        },
        "authoredOn": instant(r.created_at),
        "requester": {"reference": f"Organization/{r.source}", "display": r.source_name},
        "performer": [
            {"reference": f"Organization/{r.destination}", "display": r.destination_name}
        ],
    }
    if r.person:
        resource["subject"] = {"reference": f"Patient/{r.person.person_id}"}
    else:
        resource["subject"] = {"display": "Personne hors périmètre"}
    if r.reason:
        resource["reasonCode"] = [{"text": r.reason}]
    if r.clinical_summary:
        resource["note"] = [{"text": r.clinical_summary}]
    if r.parent_id:
        resource["replaces"] = [{"reference": f"ServiceRequest/{r.parent_id}"}]
    return resource


def task(r: ReferralOut) -> dict[str, Any]:
    from parcours.pathways.referral import ReferralState

    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(r.id),
        "meta": meta(r.version, _referral_updated(r)),
        "status": ReferralState(r.state).fhir_task_status,
        "businessStatus": {"coding": [{"code": r.state}], "text": r.state_label},
        "intent": "order",
        "focus": {"reference": f"ServiceRequest/{r.id}"},
        "basedOn": [{"reference": f"ServiceRequest/{r.id}"}],
        "authoredOn": instant(r.created_at),
        "lastModified": instant(_referral_updated(r)),
        "requester": {"reference": f"Organization/{r.source}"},
        "owner": {"reference": f"Organization/{r.destination}"},
    }
    if r.person:
        resource["for"] = {"reference": f"Patient/{r.person.person_id}"}
    if r.counter_referral:
        resource["output"] = [
            {"type": {"text": "Contre-référence"}, "valueString": r.counter_referral}
        ]
    return resource


def episode_of_care(person: str, referrals: Iterable[ReferralOut]) -> list[dict[str, Any]]:
    """One episode per redirect chain: the first referral and the ones it became."""
    chains: dict[int, list[ReferralOut]] = {}
    for r in referrals:
        chains.setdefault(r.root_id or r.id, []).append(r)
    out: list[dict[str, Any]] = []
    for root, items in sorted(chains.items()):
        items.sort(key=lambda r: r.id)
        last = items[-1]
        closed = last.closed_at is not None
        period: dict[str, Any] = {"start": instant(items[0].created_at)}
        if last.closed_at:
            period["end"] = instant(last.closed_at)
        out.append(
            {
                "resourceType": "EpisodeOfCare",
                "id": f"{person}-R{root}",
                "meta": meta(
                    sum(r.version for r in items), max(_referral_updated(r) for r in items)
                ),
                "status": "finished" if closed else "active",
                "patient": {"reference": f"Patient/{person}"},
                "managingOrganization": {"reference": f"Organization/{last.destination}"},
                "period": period,
                "referralRequest": [{"reference": f"ServiceRequest/{r.id}"} for r in items],
            }
        )
    return out


def audit_event(e: Any) -> dict[str, Any]:
    """An entry of the audit trail (``parcours.access.models.AuditEvent`` row)."""
    action = str(e.action)
    verb = action.rsplit(".", 1)[-1]
    code = {"read": "R", "search": "E", "create": "C", "register": "C", "update": "U"}.get(
        verb, "E"
    )
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(e.id),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
        },
        "subtype": [{"code": action}],
        "action": code,
        "recorded": instant(e.occurred_at),
        "outcome": "0" if e.outcome == "success" else "4",
        "agent": [{"who": {"display": e.actor}, "requestor": True, "name": e.channel}],
        "source": {"observer": {"display": "Parcours"}},
    }
    if e.entity_type:
        resource["entity"] = [
            {
                "what": {"display": f"{e.entity_type}/{e.entity_id or ''}"},
                "description": e.entity_type,
            }
        ]
    return resource
