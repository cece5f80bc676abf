"""Use cases of the master patient index.

Registration is real time: the new record's blocking keys find its candidates
through a few indexed look-ups, the engine (:mod:`parcours.patients.matching`)
scores them with the current model, and the record is linked, sent to review
(while getting a person of its own at once, so that care is never blocked) or
given a new person. Which person a record belongs to changes only by adding
link events; the projection ``patient_record_link`` follows them.

Access (law 09-08): searching is regional and shows minimal demographics; the
person page needs the caller's scope to cover one of the person's records, or
a stated reason (break-the-glass, audited as such). Every read of a person is
audited.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol, TypeVar, cast

import numpy as np
from sqlalchemy import TextClause, and_, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import Permission, Principal, ScopeKind, system_principal
from parcours.access.service import require
from parcours.bulk_store import bulk_insert, lock_keys, reserve_ids
from parcours.config import get_settings
from parcours.db import utcnow
from parcours.errors import Conflict, Forbidden, Invalid, NotFound
from parcours.patients import batch
from parcours.patients.blocking import REALTIME_CAP
from parcours.patients.dates import Precision, parse_birth_date
from parcours.patients.fellegi_sunter import (
    RULE_LABELS,
    RULES,
    Decision,
    Explanation,
    Model,
    Rule,
    Thresholds,
)
from parcours.patients.identifiers import normalise_amo, normalise_cin
from parcours.patients.matching import (
    Candidate,
    best_by_person,
    decide_for_person,
    match,
    record_keys,
)
from parcours.patients.models import (
    PatientBlockingKey,
    PatientLinkEvent,
    PatientModel,
    PatientNoMatch,
    PatientPerson,
    PatientRecordLink,
    PatientReview,
    PatientSourceRecord,
)
from parcours.patients.normalise import display_form, name_keys
from parcours.patients.records import (
    CSV_COLUMNS,
    Features,
    SourceRecord,
    features,
    normalise_sex,
)
from parcours.patients.schemas import (
    CandidateOut,
    DedupeReport,
    FieldContributionOut,
    IdentifierOut,
    LinkEventOut,
    ModelInfo,
    PersonBrief,
    PersonOut,
    PersonPage,
    RecordIn,
    RecordOut,
    Registration,
    ReviewOut,
    ReviewPage,
)
from parcours.territory.service import province_of_establishments

SYSTEM_ACTOR = "system:mpi"
#: at most this many records per look-up when searching by name or birth date
SEARCH_CAP = 500
LOAD_BATCH = 5_000

R = PatientSourceRecord
L = PatientRecordLink
P = PatientPerson
E = PatientLinkEvent

_PRECISION_NAMES = {Precision.YEAR: "year", Precision.MONTH: "month", Precision.DAY: "day"}


def thresholds() -> Thresholds:
    settings = get_settings()
    return Thresholds(upper=settings.mpi_upper, lower=settings.mpi_lower)


def public_id(person_id: int) -> str:
    return f"P{person_id:08d}"


# --- the current model ------------------------------------------------------------

_MODELS: dict[tuple[str, int, str], Model] = {}
_PRIORS = Model.from_priors()


def current_model(session: Session) -> tuple[int, Model]:
    """The latest trained model (version 0: the untrained priors), cached per process."""
    row = session.execute(
        select(PatientModel.id, PatientModel.version, PatientModel.trained_at)
        .order_by(PatientModel.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, _PRIORS
    bind = session.get_bind()
    url = bind.url if isinstance(bind, Engine) else bind.engine.url
    key = (str(url), int(row.version), row.trained_at.isoformat())
    model = _MODELS.get(key)
    if model is None:
        params = session.scalar(select(PatientModel.params).where(PatientModel.id == row.id))
        model = Model.from_dict(params or {})
        _MODELS.clear()
        _MODELS[key] = model
    return int(row.version), model


# --- records in and out ------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


@dataclass(frozen=True)
class ValidRecord:
    """A registration checked and put in the columns it is stored in."""

    columns: dict[str, Any]
    source: SourceRecord
    features: Features


def validate_record(data: RecordIn, provinces: Mapping[str, str]) -> ValidRecord:
    """Check one registration; raises Invalid with a French reason."""
    establishment = _clean(data.establishment)
    if establishment:
        establishment = establishment.upper()
        if establishment not in provinces:
            raise Invalid(
                "Établissement inconnu : {establishment}",
                code="unknown_establishment",
                establishment=establishment,
            )
    names = [data.given_name, data.family_name, data.given_name_ar, data.family_name_ar]
    # an unidentified patient (unconscious at the emergency desk) is registered all the
    # same, provided something can find the record again
    identifiers = [data.cin, data.amo_number, data.birth_date, data.phone, data.local_id]
    if not any(_clean(n) for n in [*names, *identifiers]):
        raise Invalid(
            "Il faut au moins un nom, un prénom, une date de naissance ou un identifiant.",
            code="name_missing",
        )
    sex_text = _clean(data.sex)
    sex = normalise_sex(sex_text)
    if sex_text and sex is None:
        raise Invalid("Sexe illisible : {sex} (M ou F).", code="invalid_sex", sex=sex_text)
    birth_text = _clean(data.birth_date)
    birth = parse_birth_date(birth_text) if birth_text else None
    if birth_text and birth is None:
        raise Invalid(
            "Date de naissance illisible : {value} (AAAA-MM-JJ, AAAA-MM ou AAAA).",
            code="invalid_birth_date",
            value=birth_text,
        )
    columns: dict[str, Any] = {
        "establishment_code": establishment,
        "local_id": _clean(data.local_id),
        "cin": _clean(data.cin),
        "amo_number": _clean(data.amo_number),
        "given_name": _clean(data.given_name),
        "family_name": _clean(data.family_name),
        "given_name_ar": _clean(data.given_name_ar),
        "family_name_ar": _clean(data.family_name_ar),
        "sex": sex,
        "birth_date": date(birth.year, birth.month or 1, birth.day or 1) if birth else None,
        "birth_precision": _PRECISION_NAMES[birth.precision] if birth else None,
        "phone": _clean(data.phone),
        "address": _clean(data.address),
        "commune": _clean(data.commune),
    }
    key = _clean(data.record_id) or ""
    source = _source_of(key, columns)
    return ValidRecord(columns, source, features(source))


def _birth_text(value: date | None, precision: str | None) -> str:
    if value is None:
        return ""
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def _source_of(record_key: str, c: Mapping[str, Any]) -> SourceRecord:
    return SourceRecord(
        record_id=record_key,
        establishment=c["establishment_code"] or "",
        local_id=c["local_id"] or "",
        cin=c["cin"] or "",
        amo_number=c["amo_number"] or "",
        given_name=c["given_name"] or "",
        family_name=c["family_name"] or "",
        given_name_ar=c["given_name_ar"] or "",
        family_name_ar=c["family_name_ar"] or "",
        sex=c["sex"] or "",
        birth_date=_birth_text(c["birth_date"], c["birth_precision"]),
        phone=c["phone"] or "",
        address=c["address"] or "",
        commune=c["commune"] or "",
    )


_RECORD_COLUMNS = (
    R.id,
    R.record_key,
    R.establishment_code,
    R.local_id,
    R.cin,
    R.amo_number,
    R.given_name,
    R.family_name,
    R.given_name_ar,
    R.family_name_ar,
    R.sex,
    R.birth_date,
    R.birth_precision,
    R.phone,
    R.address,
    R.commune,
)


def _source_row(row: Any) -> SourceRecord:
    return _source_of(row.record_key, row._mapping)


def _record_out(record: PatientSourceRecord, person: str | None) -> RecordOut:
    return RecordOut(
        record_key=record.record_key,
        person_id=person,
        establishment=record.establishment_code,
        local_id=record.local_id,
        cin=record.cin,
        amo_number=record.amo_number,
        given_name=record.given_name,
        family_name=record.family_name,
        given_name_ar=record.given_name_ar,
        family_name_ar=record.family_name_ar,
        sex=record.sex,
        birth_date=_birth_text(record.birth_date, record.birth_precision) or None,
        birth_precision=record.birth_precision,
        phone=record.phone,
        address=record.address,
        commune=record.commune,
        registered_at=record.registered_at,
        registered_by=record.registered_by,
    )


def _display(given: str | None, family: str | None) -> str:
    return display_form(" ".join(x for x in (given, family) if x)) or "—"


def _fields_out(explanation: Explanation) -> list[FieldContributionOut]:
    return [
        FieldContributionOut(field=f.field, label=f.label, level_label=f.level_label, bits=f.bits)
        for f in explanation.fields
    ]


def _explanation_json(explanation: Explanation) -> dict[str, Any]:
    return {
        "probability": explanation.probability,
        "weight": explanation.weight,
        "rule": explanation.rule.value,
        "fields": [
            {"field": f.field, "label": f.label, "level_label": f.level_label, "bits": f.bits}
            for f in explanation.fields
        ],
    }


# --- scope ----------------------------------------------------------------------------


def _covers(
    principal: Principal, codes: Iterable[str | None], provinces: Mapping[str, str]
) -> bool:
    if principal.scope.kind is ScopeKind.GST:
        return True
    return any(
        code is not None and principal.scope.covers(code, provinces.get(code, "")) for code in codes
    )


def _require_write_at(
    principal: Principal, establishment: str | None, provinces: Mapping[str, str]
) -> None:
    require(principal, Permission.PATIENT_WRITE)
    if not _covers(principal, [establishment], provinces):
        raise Forbidden(
            "Cet établissement ({establishment}) n'est pas dans votre périmètre.",
            code="out_of_scope",
            establishment=establishment or "aucun",
        )


def _scope_codes(principal: Principal, provinces: Mapping[str, str]) -> list[str] | None:
    """The establishment codes the principal's scope covers; None for the whole GST."""
    if principal.scope.kind is ScopeKind.GST:
        return None
    return [code for code, province in provinces.items() if principal.scope.covers(code, province)]


# --- persons and links ----------------------------------------------------------------------


def _new_person(session: Session) -> PatientPerson:
    (person_id,) = reserve_ids(session, P.__table__, 1)  # type: ignore[arg-type]
    person = PatientPerson(
        id=person_id, public_id=public_id(person_id), created_at=utcnow(), status="active"
    )
    session.add(person)
    session.flush()
    return person


def _person(session: Session, person_id: str) -> PatientPerson:
    person = session.scalars(select(P).where(P.public_id == person_id.strip().upper())).first()
    if person is None:
        raise NotFound("Personne introuvable : {person}", code="person_not_found", person=person_id)
    return person


def _record(session: Session, record_key: str) -> PatientSourceRecord:
    record = session.scalars(select(R).where(R.record_key == record_key)).first()
    if record is None:
        raise NotFound("Fiche introuvable : {record}", code="record_not_found", record=record_key)
    return record


def _apply(
    session: Session,
    record_id: int,
    person_id: int,
    *,
    rule: str,
    actor: str,
    score: float | None = None,
    reason: str | None = None,
    undoes: int | None = None,
) -> tuple[PatientLinkEvent | None, PatientLinkEvent]:
    """Move a record to a person: an unlink event (if it had one) and a link event."""
    current = session.get(L, record_id)
    now = utcnow()
    unlink: PatientLinkEvent | None = None
    old_person: int | None = None
    if current is not None:
        if current.person_id == person_id:
            raise Conflict("La fiche est déjà liée à cette personne.", code="already_linked")
        old_person = current.person_id
        unlink = PatientLinkEvent(
            record_id=record_id,
            person_id=old_person,
            action="unlink",
            rule=rule,
            actor=actor,
            at=now,
            reason=reason,
            undoes_event_id=undoes,
        )
        session.add(unlink)
    link = PatientLinkEvent(
        record_id=record_id,
        person_id=person_id,
        action="link",
        score=score,
        rule=rule,
        actor=actor,
        at=now,
        reason=reason,
        undoes_event_id=undoes,
    )
    session.add(link)
    session.flush()
    if current is None:
        session.add(PatientRecordLink(record_id=record_id, person_id=person_id, event_id=link.id))
    else:
        current.person_id = person_id
        current.event_id = link.id
    session.flush()
    target = session.get(P, person_id)
    if target is not None and target.status == "empty":
        target.status = "active"
    if old_person is not None:
        left = session.scalar(select(func.count()).select_from(L).where(L.person_id == old_person))
        if not left:
            old = session.get(P, old_person)
            if old is not None:
                old.status = "empty"
    return unlink, link


def _event_out(session: Session, event: PatientLinkEvent) -> LinkEventOut:
    record_key = session.scalar(select(R.record_key).where(R.id == event.record_id)) or ""
    person = session.get(P, event.person_id)
    return LinkEventOut(
        id=event.id,
        record_key=record_key,
        person_id=person.public_id if person else "",
        action=event.action,
        score=event.score,
        rule=event.rule,
        actor=event.actor,
        at=event.at,
        reason=event.reason,
        undoes_event_id=event.undoes_event_id,
        batch_id=event.batch_id,
    )


def _kept_apart(session: Session, person_a: int, person_b: int) -> bool:
    """Whether a reviewer kept a record of one of the two persons apart from the other."""
    members_a = select(L.record_id).where(L.person_id == person_a)
    members_b = select(L.record_id).where(L.person_id == person_b)
    found = session.scalar(
        select(PatientNoMatch.record_id)
        .where(
            or_(
                and_(PatientNoMatch.person_id == person_b, PatientNoMatch.record_id.in_(members_a)),
                and_(PatientNoMatch.person_id == person_a, PatientNoMatch.record_id.in_(members_b)),
            )
        )
        .limit(1)
    )
    return found is not None


# --- real-time matching ------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    record_id: int
    source: SourceRecord
    person_id: int | None
    person_public: str | None


@lru_cache(maxsize=200_000)
def _features_of(source: SourceRecord) -> Features:
    """A stored record's features, kept per process: records never change once
    registered, and the same frequent candidates come back registration after
    registration (normalising them again was a fifth of the time)."""
    return features(source)


@lru_cache(maxsize=64)
def _candidate_query(count: int) -> TextClause:
    """``UNION ALL`` of one capped index range per key (text: built once per key count,
    since composing it anew for each registration cost more than running it)."""
    # only integers go into the text; the keys are bound parameters
    template = (
        "SELECT record_id, {i} AS k FROM (SELECT record_id FROM patient_blocking_key "
        "WHERE key = :k{i} LIMIT {cap}) AS k{i}"
    )
    parts = [template.format(i=i, cap=REALTIME_CAP + 1) for i in range(count)]
    return text(" UNION ALL ".join(parts))


def _candidates(session: Session, keys: Sequence[str]) -> list[_Found]:
    """Records sharing a key with the new one; a key held by too many is skipped.

    One statement: a ``UNION ALL`` of one index range per key, each cut at the cap.
    """
    if not keys:
        return []
    hits = session.execute(
        _candidate_query(len(keys)), {f"k{i}": k for i, k in enumerate(keys)}
    ).all()
    held = Counter(int(k) for _, k in hits)
    ids: dict[int, None] = dict.fromkeys(
        int(record_id) for record_id, k in hits if held[int(k)] <= REALTIME_CAP
    )
    if not ids:
        return []
    found: list[_Found] = []
    id_list = list(ids)
    for start in range(0, len(id_list), 900):
        rows = session.execute(
            select(*_RECORD_COLUMNS, L.person_id, P.public_id)
            .outerjoin(L, L.record_id == R.id)
            .outerjoin(P, P.id == L.person_id)
            .where(R.id.in_(id_list[start : start + 900]))
        ).all()
        found += [_Found(row.id, _source_row(row), row.person_id, row.public_id) for row in rows]
    return found


def _candidate_out(candidate: Candidate, found: _Found, person: str) -> CandidateOut:
    source = found.source
    return CandidateOut(
        person_id=person,
        record_key=source.record_id,
        establishment=source.establishment or None,
        display_name=_display(
            source.given_name or source.given_name_ar, source.family_name or source.family_name_ar
        ),
        sex=source.sex or None,
        birth_date=source.birth_date or None,
        probability=round(candidate.probability, 6),
        weight=round(candidate.weight, 2),
        decision=candidate.decision.value,
        rule=candidate.rule.value,
        rule_label=RULE_LABELS[candidate.rule],
        fields=_fields_out(candidate.explanation),
    )


def _scored(
    session: Session, record: Features, keys: Sequence[str]
) -> tuple[list[_Found], dict[str, _Found], list[tuple[str, Candidate]], Decision]:
    found = _candidates(session, keys)
    by_key = {f.source.record_id: f for f in found}
    _, model = current_model(session)
    result = match(record, [_features_of(f.source) for f in found], model, thresholds(), limit=50)
    person_of = {f.source.record_id: f.person_public or f.source.record_id for f in found}
    persons = best_by_person(result, person_of)
    decision = decide_for_person(result, person_of) if result.candidates else Decision.NEW
    return found, by_key, persons, decision


def match_demographics(
    session: Session, principal: Principal, data: RecordIn, limit: int = 10
) -> list[CandidateOut]:
    """Candidates for a person described at the desk, best first, without registering."""
    require(principal, Permission.PATIENT_READ)
    code = (_clean(data.establishment) or "").upper() or None
    valid = validate_record(
        data.model_copy(update={"record_id": "query"}), _provinces(session, code)
    )
    _, by_key, persons, _ = _scored(session, valid.features, record_keys(valid.features))
    out = [
        _candidate_out(candidate, by_key[candidate.record_id], person)
        for person, candidate in persons
        if by_key[candidate.record_id].person_public is not None
    ][: max(1, min(limit, 50))]
    audit.record(
        session,
        principal,
        "person.match",
        "person",
        None,
        details={"criteria": _criteria(valid.columns), "candidates": len(out)},
    )
    session.commit()
    return out


def _criteria(columns: Mapping[str, Any]) -> list[str]:
    """Which fields a search used (never their values: the audit is not a register)."""
    return sorted(k for k, v in columns.items() if v)


_PROVINCES: dict[str, tuple[float, dict[str, str]]] = {}
#: seconds an establishment → province map is reused (a new code is looked up at once)
PROVINCES_TTL = 60.0


def _provinces(session: Session, code: str | None = None) -> dict[str, str]:
    """Establishment code → province, for scope checks; cached per process.

    Real-time registration needs it on every call; establishments change a few
    times a year, and a code not in the cached map refreshes it at once.
    """
    bind = session.get_bind()
    key = str(bind.url if isinstance(bind, Engine) else bind.engine.url)
    now = time.monotonic()
    cached = _PROVINCES.get(key)
    if cached is None or now - cached[0] > PROVINCES_TTL or (code and code not in cached[1]):
        cached = (now, province_of_establishments(session))
        _PROVINCES[key] = cached
    return cached[1]


def register_record(session: Session, principal: Principal, data: RecordIn) -> Registration:
    """Register a record at an establishment and decide its person at once."""
    code = (_clean(data.establishment) or "").upper() or None
    provinces = _provinces(session, code)
    valid = validate_record(data, provinces)
    columns = valid.columns
    _require_write_at(principal, columns["establishment_code"], provinces)
    record_key = _clean(data.record_id)
    if record_key and session.scalar(select(R.id).where(R.record_key == record_key)):
        raise Conflict("La fiche {record} existe déjà.", code="record_exists", record=record_key)
    if columns["establishment_code"] and columns["local_id"]:
        existing = session.scalar(
            select(R.record_key).where(
                R.establishment_code == columns["establishment_code"],
                R.local_id == columns["local_id"],
            )
        )
        if existing:
            raise Conflict(
                "L'IPP {local_id} est déjà enregistré dans cet établissement (fiche {record}).",
                code="local_id_exists",
                local_id=columns["local_id"],
                record=existing,
            )
    keys = record_keys(valid.features)
    # Two desks registering the same person at once: whoever comes second waits here,
    # then finds the first one's record among its candidates.
    lock_keys(session, keys)
    found, by_key, persons, decision = _scored(session, valid.features, keys)

    (record_id,) = reserve_ids(session, R.__table__, 1)  # type: ignore[arg-type]
    record_key = record_key or f"R{record_id:09d}"
    record = PatientSourceRecord(
        id=record_id,
        record_key=record_key,
        registered_at=utcnow(),
        registered_by=principal.username,
        **columns,
    )
    session.add(record)
    session.flush()
    session.add_all(PatientBlockingKey(key=k, record_id=record_id) for k in keys)

    _, best = persons[0] if persons else (None, None)
    target: PatientPerson
    if decision is Decision.LINK and best is not None:
        anchor = by_key[best.record_id]
        if anchor.person_id is None:
            # the best candidate was loaded but never deduplicated: one person for both
            target = _new_person(session)
            _apply(
                session,
                anchor.record_id,
                target.id,
                rule=best.rule.value,
                actor=SYSTEM_ACTOR,
                score=best.probability,
            )
        else:
            target = session.get(P, anchor.person_id)  # type: ignore[assignment]
        _apply(
            session,
            record_id,
            target.id,
            rule=best.rule.value,
            actor=SYSTEM_ACTOR,
            score=best.probability,
        )
    else:
        target = _new_person(session)
        _apply(session, record_id, target.id, rule=decision.value, actor=SYSTEM_ACTOR)

    queued = 0
    if decision is not Decision.NEW:
        for _, candidate in persons:
            other = by_key[candidate.record_id]
            if (
                other.person_id is None
                or other.person_id == target.id
                or candidate.decision is Decision.NEW
                or _kept_apart(session, target.id, other.person_id)
            ):
                continue
            session.add(
                PatientReview(
                    record_id=record_id,
                    candidate_person_id=other.person_id,
                    candidate_record_id=other.record_id,
                    score=candidate.weight,
                    explanation=_explanation_json(candidate.explanation),
                    status="open",
                    created_at=utcnow(),
                )
            )
            queued += 1
    audit.record(
        session,
        principal,
        "patient.register",
        "patient_record",
        record_key,
        details={
            "person": target.public_id,
            "decision": decision.value,
            "establishment": columns["establishment_code"],
            "candidates": len(found),
            "reviews": queued,
        },
    )
    session.commit()
    return Registration(
        record_key=record_key,
        person_id=target.public_id,
        decision=decision.value,
        candidates=[
            _candidate_out(candidate, by_key[candidate.record_id], person)
            for person, candidate in persons[:10]
            if by_key[candidate.record_id].person_public is not None
        ],
    )


# --- links by hand -------------------------------------------------------------------------


def link_record(
    session: Session, principal: Principal, record_key: str, person_id: str, reason: str
) -> LinkEventOut:
    """Attach a record to a person chosen by someone (a correction)."""
    record = _record(session, record_key)
    _require_write_at(principal, record.establishment_code, _provinces(session))
    person = _person(session, person_id)
    if person.status == "merged":
        raise Conflict("Cette personne a été fusionnée.", code="person_merged")
    _, event = _apply(
        session, record.id, person.id, rule="manual", actor=principal.username, reason=reason
    )
    audit.record(
        session,
        principal,
        "patient.link",
        "patient_record",
        record_key,
        reason=reason,
        details={"person": person.public_id, "event": event.id},
    )
    session.commit()
    return _event_out(session, event)


def unlink_record(
    session: Session, principal: Principal, record_key: str, reason: str
) -> LinkEventOut:
    """Detach a record from its person; it becomes a person of its own."""
    record = _record(session, record_key)
    _require_write_at(principal, record.establishment_code, _provinces(session))
    current = session.get(L, record.id)
    if current is not None:
        others = session.scalar(
            select(func.count()).select_from(L).where(L.person_id == current.person_id)
        )
        if others == 1:
            raise Conflict(
                "La fiche est seule dans sa personne : rien à délier.", code="nothing_to_unlink"
            )
    person = _new_person(session)
    unlink, link = _apply(
        session, record.id, person.id, rule="manual", actor=principal.username, reason=reason
    )
    audit.record(
        session,
        principal,
        "patient.unlink",
        "patient_record",
        record_key,
        reason=reason,
        details={"new_person": person.public_id, "event": (unlink or link).id},
    )
    session.commit()
    return _event_out(session, unlink or link)


def undo_event(session: Session, principal: Principal, event_id: int, reason: str) -> LinkEventOut:
    """Put a record back where it was before a link event (new events, nothing erased)."""
    event = session.get(E, event_id)
    if event is None:
        raise NotFound("Événement introuvable : {event}", code="event_not_found", event=event_id)
    record = session.get(R, event.record_id)
    assert record is not None
    _require_write_at(principal, record.establishment_code, _provinces(session))
    current = session.get(L, record.id)
    later = session.scalars(
        select(E).where(E.record_id == record.id, E.id > event.id).order_by(E.id)
    ).all()
    if event.action == "link":
        in_effect = current is not None and current.event_id == event.id
        before = session.scalars(
            select(E)
            .where(E.record_id == record.id, E.id < event.id, E.action == "link")
            .order_by(E.id.desc())
            .limit(1)
        ).first()
        target_id = before.person_id if before is not None else None
    else:
        following = next((e for e in later if e.action == "link"), None)
        in_effect = (
            current is not None and following is not None and current.event_id == following.id
        )
        target_id = event.person_id
    if not in_effect:
        raise Conflict(
            "Une décision plus récente a changé cette fiche : annulez-la d'abord.",
            code="superseded",
        )
    if target_id is None or (current is not None and current.person_id == target_id):
        target_id = _new_person(session).id
    _, link = _apply(
        session,
        record.id,
        target_id,
        rule="undo",
        actor=principal.username,
        reason=reason,
        undoes=event.id,
    )
    audit.record(
        session,
        principal,
        "patient.undo",
        "patient_link_event",
        str(event.id),
        reason=reason,
        details={"record": record.record_key, "event": link.id},
    )
    session.commit()
    return _event_out(session, link)


# --- reading persons ------------------------------------------------------------------------


def _precision_rank(precision: str | None) -> int:
    return {"day": 3, "month": 2, "year": 1}.get(precision or "", 0)


class _Demographics(Protocol):
    """What a person's summary reads of a record: an ORM record or a row of just these columns."""

    @property
    def id(self) -> int: ...
    @property
    def establishment_code(self) -> str | None: ...
    @property
    def given_name(self) -> str | None: ...
    @property
    def family_name(self) -> str | None: ...
    @property
    def given_name_ar(self) -> str | None: ...
    @property
    def family_name_ar(self) -> str | None: ...
    @property
    def cin(self) -> str | None: ...
    @property
    def amo_number(self) -> str | None: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def birth_date(self) -> date | None: ...
    @property
    def birth_precision(self) -> str | None: ...


_D = TypeVar("_D", bound=_Demographics)

_DEMOGRAPHIC_COLUMNS = (
    R.id,
    R.establishment_code,
    R.given_name,
    R.family_name,
    R.given_name_ar,
    R.family_name_ar,
    R.cin,
    R.amo_number,
    R.sex,
    R.birth_date,
    R.birth_precision,
)


def _golden(records: Sequence[_D]) -> _D:
    """The record shown for the person: the most complete, then the first registered
    (so that the name shown does not change with every new registration)."""

    def completeness(r: _D) -> tuple[int, int, int]:
        filled = sum(
            1 for v in (r.given_name, r.family_name, r.cin, r.amo_number, r.sex, r.birth_date) if v
        )
        return (_precision_rank(r.birth_precision), filled, -r.id)

    return max(records, key=completeness)


def _arabic(records: Sequence[_Demographics]) -> str | None:
    for r in records:
        if r.given_name_ar or r.family_name_ar:
            return " ".join(x for x in (r.given_name_ar, r.family_name_ar) if x)
    return None


def _brief(public_id: str, records: Sequence[_Demographics], score: float | None) -> PersonBrief:
    golden = _golden(records)
    return PersonBrief(
        person_id=public_id,
        display_name=_display(
            golden.given_name or golden.given_name_ar, golden.family_name or golden.family_name_ar
        ),
        display_name_ar=_arabic(records),
        sex=golden.sex,
        birth_date=_birth_text(golden.birth_date, golden.birth_precision) or None,
        birth_precision=golden.birth_precision,
        establishments=sorted({r.establishment_code for r in records if r.establishment_code}),
        records=len(records),
        score=None if score is None else round(score, 2),
    )


def _records_of(
    session: Session, person_ids: Sequence[int]
) -> dict[int, list[PatientSourceRecord]]:
    out: dict[int, list[PatientSourceRecord]] = {p: [] for p in person_ids}
    if not person_ids:
        return out
    rows = session.execute(
        select(L.person_id, R)
        .join(R, R.id == L.record_id)
        .where(L.person_id.in_(person_ids))
        .order_by(R.id)
    ).all()
    for person_id, record in rows:
        out[person_id].append(record)
    return out


def _briefs_of(
    session: Session, person_ids: Sequence[int], scores: Mapping[int, float] | None = None
) -> dict[int, PersonBrief]:
    """The summaries of persons, read column by column: lists show many of them, and whole
    ORM records cost about a third of an inbox's time at a region's scale."""
    if not person_ids:
        return {}
    public_ids = dict(session.execute(select(P.id, P.public_id).where(P.id.in_(person_ids))).all())
    rows: dict[int, list[_Demographics]] = {p: [] for p in person_ids}
    for row in session.execute(
        select(L.person_id, *_DEMOGRAPHIC_COLUMNS)
        .join(R, R.id == L.record_id)
        .where(L.person_id.in_(person_ids))
        .order_by(R.id)
    ):
        rows[row.person_id].append(cast(_Demographics, row))
    return {
        pid: _brief(public_ids[pid], rows[pid], None if scores is None else scores[pid])
        for pid in person_ids
        if rows[pid] and pid in public_ids
    }


def get_person(
    session: Session, principal: Principal, person_id: str, *, reason: str | None = None
) -> PersonOut:
    """A person with all its records and their link history; audited, scoped."""
    require(principal, Permission.PATIENT_READ)
    person = _person(session, person_id)
    records = _records_of(session, [person.id])[person.id]
    provinces = _provinces(session)
    codes = [r.establishment_code for r in records]
    action = "person.read"
    if not _covers(principal, codes, provinces):
        if not (reason and reason.strip()):
            raise Forbidden(
                "Cette personne n'a aucune fiche dans votre périmètre ; "
                "indiquez un motif pour y accéder (accès d'urgence, tracé).",
                code="out_of_scope",
            )
        action = "person.read.emergency"
    record_ids = [r.id for r in records]
    events = session.scalars(
        select(E).where(or_(E.person_id == person.id, E.record_id.in_(record_ids))).order_by(E.id)
    ).all()
    # Two look-ups on their own indexes, not one OR: the planner took the status index
    # for the OR and walked every open review of the region (30 ms at a million persons).
    open_review_ids = {
        review_id
        for condition in (
            PatientReview.candidate_person_id == person.id,
            PatientReview.record_id.in_(record_ids),
        )
        for review_id, status in session.execute(
            select(PatientReview.id, PatientReview.status).where(condition)
        )
        if status == "open"
    }
    open_reviews = len(open_review_ids)
    audit.record(
        session,
        principal,
        action,
        "person",
        person.public_id,
        reason=reason.strip() if reason and reason.strip() else None,
    )
    session.commit()
    golden = _golden(records) if records else None
    identifiers: list[IdentifierOut] = []
    seen: set[tuple[str, str, str | None]] = set()
    for r in records:
        for kind, value, est in (
            ("cin", normalise_cin(r.cin) or r.cin, None),
            ("amo", normalise_amo(r.amo_number) or r.amo_number, None),
            ("local_id", r.local_id, r.establishment_code),
        ):
            if value and (kind, value, est) not in seen:
                seen.add((kind, value, est))
                identifiers.append(IdentifierOut(kind=kind, value=value, establishment=est))
    return PersonOut(
        person_id=person.public_id,
        status=person.status,
        display_name=_display(
            golden.given_name or golden.given_name_ar, golden.family_name or golden.family_name_ar
        )
        if golden
        else "—",
        display_name_ar=_arabic(records),
        sex=golden.sex if golden else None,
        birth_date=(_birth_text(golden.birth_date, golden.birth_precision) or None)
        if golden
        else None,
        birth_precision=golden.birth_precision if golden else None,
        identifiers=identifiers,
        records=[_record_out(r, person.public_id) for r in records],
        history=[_event_out(session, e) for e in events],
        open_reviews=int(open_reviews or 0),
    )


# --- for the other contexts (their own service audits the read) ---------------------------------


@dataclass(frozen=True)
class PersonRecords:
    """A person's source records, which encounters and referrals hang from."""

    person_id: str
    records: tuple[tuple[int, str | None], ...]  # (record id, establishment code)

    @property
    def record_ids(self) -> list[int]:
        return [r for r, _ in self.records]

    @property
    def establishments(self) -> list[str]:
        return sorted({e for _, e in self.records if e})

    def record_at(self, establishment: str) -> int | None:
        """The person's record at ``establishment`` (the newest), else None."""
        found = [r for r, e in self.records if e == establishment]
        return max(found) if found else None


def person_records(session: Session, person_id: str) -> PersonRecords:
    """The records linked to a person now (no audit: the calling use case audits its read)."""
    person = _person(session, person_id)
    rows = session.execute(
        select(R.id, R.establishment_code)
        .join(L, L.record_id == R.id)
        .where(L.person_id == person.id)
        .order_by(R.id)
    ).all()
    return PersonRecords(person.public_id, tuple((int(i), e) for i, e in rows))


def persons_of_records(session: Session, record_ids: Iterable[int]) -> dict[int, PersonBrief]:
    """Who each record belongs to now, with minimal demographics (for lists of referrals).

    No audit here: the calling use case records the read of the list it shows.
    """
    wanted = sorted(set(record_ids))
    if not wanted:
        return {}
    owners = dict(
        session.execute(select(L.record_id, L.person_id).where(L.record_id.in_(wanted))).all()
    )
    briefs = _briefs_of(session, sorted(set(owners.values())))
    return {rid: briefs[pid] for rid, pid in owners.items() if pid in briefs}


# --- search ------------------------------------------------------------------------------------


def _key_holders(session: Session, key: str, cap: int = SEARCH_CAP) -> list[int]:
    return list(
        session.scalars(
            select(PatientBlockingKey.record_id).where(PatientBlockingKey.key == key).limit(cap)
        )
    )


def _prefix_holders(session: Session, prefix: str, cap: int = SEARCH_CAP) -> list[int]:
    """Records with a key starting with ``prefix`` (a range scan of the key index)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return list(
        session.scalars(
            select(PatientBlockingKey.record_id)
            .where(PatientBlockingKey.key >= prefix, PatientBlockingKey.key < upper)
            .limit(cap)
        )
    )


def _name_splits(q: str) -> list[tuple[str, str]]:
    words = q.split()
    if len(words) == 1:
        return [(words[0], ""), ("", words[0])]
    return [(" ".join(words[:k]), " ".join(words[k:])) for k in range(1, len(words))]


def _word_prefix_ids(session: Session, word: str) -> set[int]:
    keys = name_keys(word)
    if not keys.norm:
        return set()
    stem = keys.blocking_key
    ids: set[int] = set()
    for prefix in (f"fy:{stem}", f"gd:{stem}"):
        ids.update(_prefix_holders(session, prefix))
    return ids


def _name_search(session: Session, q: str) -> dict[int, float]:
    """Record ids found by a name typed at the desk, each with its best score."""
    ids: set[int] = set()
    for given, family in _name_splits(q):
        g, f = name_keys(given), name_keys(family)
        if g.norm and f.norm:
            ids.update(
                _key_holders(session, "nm:" + "|".join(sorted((g.blocking_key, f.blocking_key))))
            )
    if not ids:
        # a name in one word, or a few letters typed: prefixes of the name keys, every
        # word matching
        sets = [_word_prefix_ids(session, w) for w in q.split()]
        sets = [s for s in sets if s] or [set()]
        ids = set.intersection(*sets)
    if not ids:
        return {}
    rows = session.execute(select(*_RECORD_COLUMNS).where(R.id.in_(list(ids)))).all()
    sources = {row.record_key: (row.id, _source_row(row)) for row in rows}
    _, model = current_model(session)
    best: dict[int, float] = {}
    for given, family in _name_splits(q):
        query = SourceRecord(record_id="\x00query", given_name=given, family_name=family)
        result = match(query, [s for _, s in sources.values()], model, thresholds(), limit=None)
        for candidate in result.candidates:
            record_id = sources[candidate.record_id][0]
            if candidate.weight > best.get(record_id, -1e9):
                best[record_id] = candidate.weight
    return best


def _birth_ids(session: Session, text: str) -> set[int]:
    birth = parse_birth_date(text)
    if birth is None:
        raise Invalid(
            "Date de naissance illisible : {value} (AAAA-MM-JJ, AAAA-MM ou AAAA).",
            code="invalid_birth_date",
            value=text,
        )
    year_start, year_end = date(birth.year, 1, 1), date(birth.year, 12, 31)
    if birth.precision is Precision.YEAR:
        condition: Any = R.birth_date.between(year_start, year_end)
    else:
        if birth.precision is Precision.MONTH:
            start = date(birth.year, birth.month, 1)
            end = date(birth.year + birth.month // 12, birth.month % 12 + 1, 1)
            exact: Any = and_(R.birth_date >= start, R.birth_date < end)
        else:
            exact = R.birth_date == date(birth.year, birth.month, birth.day)
        # a record known to the year only (or the month) agrees with any date in it
        condition = or_(
            exact,
            and_(R.birth_date.between(year_start, year_end), R.birth_precision == "year"),
        )
    return set(session.scalars(select(R.id).where(condition).limit(SEARCH_CAP * 4)))


def _born_between_ids(
    session: Session, born_from: date | None, born_before: date | None
) -> set[int]:
    """Records whose birth — the day, or the whole month or year when that is all that is
    known — falls at least partly in [born_from, born_before)."""
    conditions: list[Any] = []
    if born_before is not None:
        conditions.append(R.birth_date < born_before)
    if born_from is not None:
        year, month = date(born_from.year, 1, 1), date(born_from.year, born_from.month, 1)
        conditions.append(
            or_(
                R.birth_date >= born_from,
                and_(R.birth_precision == "year", R.birth_date >= year),
                and_(R.birth_precision == "month", R.birth_date >= month),
            )
        )
    else:
        conditions.append(R.birth_date.is_not(None))
    return set(session.scalars(select(R.id).where(*conditions).limit(SEARCH_CAP * 4)))


def search_persons(
    session: Session,
    principal: Principal,
    *,
    q: str | None = None,
    cin: str | None = None,
    amo_number: str | None = None,
    birth_date: str | None = None,
    born_from: date | None = None,
    born_before: date | None = None,
    page: int = 1,
    page_size: int = 20,
) -> PersonPage:
    """Find persons at the desk: tolerant by name, exact by CIN, AMO number, birth date;
    ``born_from`` / ``born_before`` bound the birth date (FHIR's ``birthdate=ge…&lt…``)."""
    require(principal, Permission.PATIENT_READ)
    page = max(page, 1)
    page_size = max(1, min(page_size, get_settings().page_size_max))
    q, cin, amo_number, birth_date = (_clean(x) for x in (q, cin, amo_number, birth_date))
    born_range = born_from is not None or born_before is not None
    if not any((q, cin, amo_number, birth_date, born_range)):
        raise Invalid(
            "Indiquez au moins un critère : nom, CIN, numéro AMO ou date de naissance.",
            code="no_criteria",
        )
    sets: list[set[int]] = []
    scores: dict[int, float] = {}
    if cin:
        normal = normalise_cin(cin)
        sets.append(set(_key_holders(session, f"cin:{normal}")) if normal else set())
    if amo_number:
        normal = normalise_amo(amo_number)
        sets.append(set(_key_holders(session, f"amo:{normal}")) if normal else set())
    if birth_date:
        sets.append(_birth_ids(session, birth_date))
    if born_range:
        sets.append(_born_between_ids(session, born_from, born_before))
    if q:
        scores = _name_search(session, q)
        sets.append(set(scores))
    ids = set.intersection(*sets) if sets else set()
    person_score: dict[int, float] = {}
    for start_at in range(0, len(ids), 900):
        part = list(ids)[start_at : start_at + 900]
        for record_id, person_id in session.execute(
            select(L.record_id, L.person_id).where(L.record_id.in_(part))
        ):
            score = scores.get(record_id, 0.0)
            if person_id not in person_score or score > person_score[person_id]:
                person_score[person_id] = score
    ordered = sorted(person_score, key=lambda p: (-person_score[p], p))
    chosen = ordered[(page - 1) * page_size : page * page_size]
    briefs = _briefs_of(session, chosen, person_score if q else None)
    items = [briefs[p] for p in chosen if p in briefs]
    audit.record(
        session,
        principal,
        "person.search",
        "person",
        None,
        details={
            "criteria": sorted(
                k
                for k, v in {
                    "q": q,
                    "cin": cin,
                    "amo_number": amo_number,
                    "birth_date": birth_date,
                    "born_between": born_range,
                }.items()
                if v
            )
        },
    )
    session.commit()
    return PersonPage(total=len(ordered), page=page, page_size=page_size, items=items)


# --- the review queue --------------------------------------------------------------------------


def _review_scope(principal: Principal, provinces: Mapping[str, str]) -> Any:
    codes = _scope_codes(principal, provinces)
    if codes is None:
        return None
    in_scope = select(R.id).where(R.establishment_code.in_(codes))
    return or_(
        PatientReview.record_id.in_(in_scope), PatientReview.candidate_record_id.in_(in_scope)
    )


def _review_out(session: Session, review: PatientReview) -> ReviewOut:
    record = session.get(R, review.record_id)
    candidate = session.get(R, review.candidate_record_id)
    assert record is not None
    assert candidate is not None
    person_of = dict(
        session.execute(
            select(L.record_id, P.public_id)
            .join(P, P.id == L.person_id)
            .where(L.record_id.in_([record.id, candidate.id]))
        ).all()
    )
    explanation = dict(review.explanation or {})
    fields = explanation.get("fields")
    rule = explanation.get("rule", Rule.SCORE.value)
    probability = float(explanation.get("probability", 0.0))
    if not fields:
        # batch reviews keep the score only: explain the pair with the current model
        _, model = current_model(session)
        columns = {c.key: getattr(record, c.key) for c in _RECORD_COLUMNS}
        other = {c.key: getattr(candidate, c.key) for c in _RECORD_COLUMNS}
        result = match(
            _source_of(record.record_key, columns),
            [_source_of(candidate.record_key, other)],
            model,
            thresholds(),
        )
        if result.best is not None:
            fields = [f.model_dump() for f in _fields_out(result.best.explanation)]
    candidate_person = session.get(P, review.candidate_person_id)
    return ReviewOut(
        id=review.id,
        status=review.status,
        score=review.score,
        probability=probability,
        rule=rule,
        rule_label=RULE_LABELS.get(Rule(rule), rule) if rule in {r.value for r in RULES} else rule,
        record=_record_out(record, person_of.get(record.id)),
        candidate=_record_out(candidate, person_of.get(candidate.id)),
        candidate_person_id=candidate_person.public_id if candidate_person else "",
        fields=[FieldContributionOut(**f) for f in fields or []],
        created_at=review.created_at,
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        reason=review.reason,
    )


def list_reviews(
    session: Session,
    principal: Principal,
    *,
    status: str = "open",
    page: int = 1,
    page_size: int = 20,
) -> ReviewPage:
    """Pairs to review whose record or candidate lies in the caller's scope."""
    require(principal, Permission.PATIENT_READ)
    if status not in ("open", "linked", "kept_apart"):
        raise Invalid("Statut inconnu : {status}", code="invalid_status", status=status)
    page = max(page, 1)
    page_size = max(1, min(page_size, get_settings().page_size_max))
    query = select(PatientReview).where(PatientReview.status == status)
    scope = _review_scope(principal, _provinces(session))
    if scope is not None:
        query = query.where(scope)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    reviews = session.scalars(
        query.order_by(PatientReview.id).limit(page_size).offset((page - 1) * page_size)
    ).all()
    items = [_review_out(session, r) for r in reviews]
    audit.record(
        session,
        principal,
        "review.list",
        "patient_review",
        None,
        details={"status": status, "page": page},
    )
    session.commit()
    return ReviewPage(total=total, page=page, page_size=page_size, items=items)


def _get_review(session: Session, principal: Principal, review_id: int) -> PatientReview:
    review = session.get(PatientReview, review_id)
    if review is None:
        raise NotFound("Revue introuvable : {review}", code="review_not_found", review=review_id)
    provinces = _provinces(session)
    codes = session.scalars(
        select(R.establishment_code).where(R.id.in_([review.record_id, review.candidate_record_id]))
    ).all()
    if not _covers(principal, codes, provinces):
        raise Forbidden("Cette revue est hors de votre périmètre.", code="out_of_scope")
    return review


def get_review(session: Session, principal: Principal, review_id: int) -> ReviewOut:
    require(principal, Permission.PATIENT_READ)
    review = _get_review(session, principal, review_id)
    out = _review_out(session, review)
    audit.record(session, principal, "review.read", "patient_review", str(review.id))
    session.commit()
    return out


def decide_review(
    session: Session, principal: Principal, review_id: int, decision: str, reason: str
) -> ReviewOut:
    """Link the pair, or keep it apart for good; either way audited and undoable."""
    require(principal, Permission.PATIENT_WRITE)
    review = _get_review(session, principal, review_id)
    if decision not in ("link", "keep_apart"):
        raise Invalid("Décision inconnue : {decision}", code="invalid_decision", decision=decision)
    if review.status != "open":
        raise Conflict("Cette revue a déjà été tranchée.", code="review_decided")
    details: dict[str, Any] = {"decision": decision}
    if decision == "link":
        current = session.get(L, review.record_id)
        if current is None or current.person_id != review.candidate_person_id:
            probability = float((review.explanation or {}).get("probability", 0.0)) or None
            _, event = _apply(
                session,
                review.record_id,
                review.candidate_person_id,
                rule="review",
                actor=principal.username,
                score=probability,
                reason=reason,
            )
            details["event"] = event.id
        review.status = "linked"
    else:
        exists_already = session.get(PatientNoMatch, (review.record_id, review.candidate_person_id))
        if exists_already is None:
            session.add(
                PatientNoMatch(
                    record_id=review.record_id,
                    person_id=review.candidate_person_id,
                    decided_by=principal.username,
                    decided_at=utcnow(),
                )
            )
        review.status = "kept_apart"
    review.decided_by = principal.username
    review.decided_at = utcnow()
    review.reason = reason
    audit.record(
        session,
        principal,
        "review.decide",
        "patient_review",
        str(review.id),
        reason=reason,
        details=details,
    )
    session.commit()
    return _review_out(session, review)


# --- batch: load, train, dedupe, export -----------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    line: int
    record_key: str
    status: str  # created | unchanged | rejected
    message: str = ""


def _row_in(row: Mapping[str, str | None]) -> RecordIn:
    values = {k: (row.get(k) or "").strip() or None for k in CSV_COLUMNS}
    return RecordIn.model_construct(None, **values)


_LIMITS = {
    "record_id": 64,
    "establishment": 40,
    "local_id": 64,
    "cin": 32,
    "amo_number": 32,
    "given_name": 120,
    "family_name": 120,
    "given_name_ar": 120,
    "family_name_ar": 120,
    "sex": 10,
    "birth_date": 10,
    "phone": 32,
    "address": 300,
    "commune": 120,
}


def _too_long(data: RecordIn) -> str | None:
    for name, limit in _LIMITS.items():
        value = getattr(data, name)
        if value and len(value) > limit:
            return f"{name} trop long ({len(value)} caractères, {limit} au plus)"
    return None


def load_records(
    session: Session,
    rows: Iterable[Mapping[str, str | None]],
    *,
    first_line: int = 2,
    actor: str = SYSTEM_ACTOR,
) -> Iterator[RowOutcome]:
    """Load source records in bulk, idempotent by record key; bad rows are reported.

    Yields one outcome per row (line numbers count the header as line 1). Each
    batch of rows is one transaction, audited with its counts.
    """
    provinces = province_of_establishments(session)
    pending: list[tuple[int, RecordIn]] = []
    line = first_line
    for row in rows:
        pending.append((line, _row_in(row)))
        line += 1
        if len(pending) >= LOAD_BATCH:
            yield from _load_batch(session, pending, provinces, actor)
            pending = []
    if pending:
        yield from _load_batch(session, pending, provinces, actor)


_RECORD_INSERT_COLUMNS = (
    "id",
    "record_key",
    "establishment_code",
    "local_id",
    "cin",
    "amo_number",
    "given_name",
    "family_name",
    "given_name_ar",
    "family_name_ar",
    "sex",
    "birth_date",
    "birth_precision",
    "phone",
    "address",
    "commune",
    "registered_at",
    "registered_by",
)


def _load_batch(
    session: Session,
    rows: list[tuple[int, RecordIn]],
    provinces: Mapping[str, str],
    actor: str,
) -> list[RowOutcome]:
    outcomes: dict[int, RowOutcome] = {}
    valid: list[tuple[int, str, ValidRecord]] = []
    seen_keys: set[str] = set()
    seen_local: set[tuple[str, str]] = set()
    for line, data in rows:
        key = data.record_id or ""
        if not key:
            outcomes[line] = RowOutcome(line, "", "rejected", "record_id manquant")
            continue
        problem = _too_long(data)
        if problem:
            outcomes[line] = RowOutcome(line, key, "rejected", problem)
            continue
        try:
            checked = validate_record(data, provinces)
        except Invalid as exc:
            outcomes[line] = RowOutcome(line, key, "rejected", exc.render())
            continue
        if key in seen_keys:
            outcomes[line] = RowOutcome(
                line, key, "rejected", "record_id en double dans le fichier"
            )
            continue
        seen_keys.add(key)
        local = (checked.columns["establishment_code"], checked.columns["local_id"])
        if local[0] and local[1]:
            if local in seen_local:
                outcomes[line] = RowOutcome(
                    line,
                    key,
                    "rejected",
                    f"IPP {local[1]} en double pour {local[0]} dans le fichier",
                )
                continue
            seen_local.add(local)
        valid.append((line, key, checked))
    existing = set(
        session.scalars(select(R.record_key).where(R.record_key.in_([k for _, k, _ in valid])))
    )
    locals_wanted = [
        (v.columns["establishment_code"], v.columns["local_id"])
        for _, k, v in valid
        if k not in existing and v.columns["establishment_code"] and v.columns["local_id"]
    ]
    taken: set[tuple[str, str]] = set()
    if locals_wanted:
        by_est: dict[str, list[str]] = {}
        for est, local in locals_wanted:
            by_est.setdefault(est, []).append(local)
        for est, local_ids in by_est.items():
            taken.update(
                (est, x or "")
                for x in session.scalars(
                    select(R.local_id).where(R.establishment_code == est, R.local_id.in_(local_ids))
                )
            )
    fresh: list[tuple[int, str, ValidRecord]] = []
    for line, key, checked in valid:
        if key in existing:
            outcomes[line] = RowOutcome(line, key, "unchanged")
        elif (checked.columns["establishment_code"], checked.columns["local_id"]) in taken:
            outcomes[line] = RowOutcome(
                line, key, "rejected", "IPP déjà enregistré sous une autre fiche"
            )
        else:
            fresh.append((line, key, checked))
    ids = reserve_ids(session, R.__table__, len(fresh))  # type: ignore[arg-type]
    now = utcnow()
    record_rows = []
    key_rows = []
    for record_id, (line, key, checked) in zip(ids, fresh, strict=True):
        c = checked.columns
        record_rows.append(
            (record_id, key, *(c[n] for n in _RECORD_INSERT_COLUMNS[2:16]), now, actor)
        )
        key_rows += [(k, record_id) for k in record_keys(checked.features)]
        outcomes[line] = RowOutcome(line, key, "created")
    bulk_insert(session, R.__table__, _RECORD_INSERT_COLUMNS, record_rows)  # type: ignore[arg-type]
    bulk_insert(session, PatientBlockingKey.__table__, ("key", "record_id"), key_rows)  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    audit.record(
        session,
        system_principal("mpi"),
        "patient.load",
        "patient_record",
        None,
        actor=actor,
        details=counts,
    )
    session.commit()
    return [outcomes[line] for line, _ in rows]


def _all_records(session: Session) -> tuple[list[int], list[SourceRecord], list[int]]:
    """Every record (id order) with its current person id (-1 when unlinked)."""
    ids: list[int] = []
    sources: list[SourceRecord] = []
    persons: list[int] = []
    result = session.execute(
        select(*_RECORD_COLUMNS, L.person_id).outerjoin(L, L.record_id == R.id).order_by(R.id)
    )
    for row in result:
        ids.append(row.id)
        sources.append(_source_row(row))
        persons.append(row.person_id if row.person_id is not None else -1)
    return ids, sources, persons


def train(
    session: Session, *, settings: batch.TrainingSettings | None = None, actor: str = SYSTEM_ACTOR
) -> ModelInfo:
    """Estimate the model from every loaded record and make it the current one."""
    _, sources, _ = _all_records(session)
    if len(sources) < 3:
        raise Invalid(
            "Il faut au moins trois fiches pour estimer le modèle.", code="too_few_records"
        )
    model = batch.train(sources, settings=settings)
    version = int(session.scalar(select(func.coalesce(func.max(PatientModel.version), 0))) or 0) + 1
    row = PatientModel(
        version=version,
        params=model.to_dict(),
        trained_at=utcnow(),
        trained_by=actor,
        records=len(sources),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        system_principal("mpi"),
        "patient.model.train",
        "patient_model",
        str(version),
        actor=actor,
        details={"records": len(sources), "prior": model.prior, "households": model.households},
    )
    session.commit()
    return ModelInfo(
        version=version,
        records=len(sources),
        prior=model.prior,
        households=model.households,
        trained_at=row.trained_at,
    )


_EVENT_COLUMNS = (
    "id",
    "record_id",
    "person_id",
    "action",
    "score",
    "rule",
    "actor",
    "at",
    "batch_id",
)
_REVIEW_COLUMNS = (
    "record_id",
    "candidate_person_id",
    "candidate_record_id",
    "score",
    "explanation",
    "status",
    "created_at",
)


def dedupe(session: Session, *, actor: str = SYSTEM_ACTOR) -> DedupeReport:
    """Link every unlinked record: the engine's batch deduplication over all records.

    Clusters are merged with the persons their already linked records belong to
    (existing links are never changed); the rest become new persons. Review
    pairs that involve a newly linked record go to the review queue.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    ids, sources, persons_list = _all_records(session)
    timings["read"] = time.perf_counter() - start
    batch_id = "B" + uuid.uuid4().hex[:12]
    n = len(ids)
    person = np.asarray(persons_list, dtype=np.int64)
    unlinked = person < 0
    if n == 0 or not unlinked.any():
        return DedupeReport(
            batch_id=batch_id,
            records=n,
            newly_linked=0,
            new_persons=0,
            joined_existing=0,
            reviews=0,
            candidate_pairs=0,
            seconds=timings,
        )
    _, model = current_model(session)
    result = batch.dedupe(sources, model, thresholds())
    for k, v in result.timings.items():
        timings[k] = v
    start = time.perf_counter()
    labels = result.labels
    # the existing person of each cluster: the one holding most of its linked records
    linked = ~unlinked
    cluster_person: dict[int, int] = {}
    if linked.any():
        pairs, counts = np.unique(
            np.stack([labels[linked], person[linked]], axis=1), axis=0, return_counts=True
        )
        for (label, p), _ in sorted(
            zip(map(tuple, pairs.tolist()), counts.tolist(), strict=True), key=lambda x: x[1]
        ):
            cluster_person[label] = p
    new_labels = sorted({int(x) for x in labels[unlinked].tolist()} - set(cluster_person))
    new_ids = reserve_ids(session, P.__table__, len(new_labels))  # type: ignore[arg-type]
    for label, pid in zip(new_labels, new_ids, strict=True):
        cluster_person[label] = pid
    final = person.copy()
    final[unlinked] = [cluster_person[int(x)] for x in labels[unlinked].tolist()]
    # each record's strongest link within the run, for the event's score and rule
    best_p = np.full(n, np.nan)
    best_rule = np.full(n, -1, dtype=np.int64)
    links = result.links
    if len(links):
        order = np.argsort(links.probability, kind="stable")
        for side in (links.left, links.right):
            best_p[side[order]] = links.probability[order]
            best_rule[side[order]] = links.rule[order].astype(np.int64)
    now = utcnow()
    joined = int(np.isin(final[unlinked], person[linked]).sum()) if linked.any() else 0
    bulk_insert(
        session,
        P.__table__,  # type: ignore[arg-type]
        ("id", "public_id", "created_at", "status"),
        [(pid, public_id(pid), now, "active") for pid in new_ids],
    )
    targets = sorted({int(x) for x in final[unlinked].tolist()} - set(new_ids))
    if targets:
        session.execute(
            update(P).where(P.id.in_(targets), P.status == "empty").values(status="active")
        )
    positions = np.flatnonzero(unlinked).tolist()
    event_ids = reserve_ids(session, E.__table__, len(positions))  # type: ignore[arg-type]
    event_rows = []
    link_rows = []
    for i, event_id in zip(positions, event_ids, strict=True):
        rule_index = int(best_rule[i])
        rule = RULES[rule_index].value if rule_index >= 0 else "batch_new"
        score = None if np.isnan(best_p[i]) else float(best_p[i])
        event_rows.append(
            (event_id, ids[i], int(final[i]), "link", score, rule, actor, now, batch_id)
        )
        link_rows.append((ids[i], int(final[i]), event_id))
    bulk_insert(session, E.__table__, _EVENT_COLUMNS, event_rows)  # type: ignore[arg-type]
    bulk_insert(session, L.__table__, ("record_id", "person_id", "event_id"), link_rows)  # type: ignore[arg-type]
    # reviews: pairs between a newly linked record and another person
    kept_apart = {
        (int(a), int(b))
        for a, b in session.execute(select(PatientNoMatch.record_id, PatientNoMatch.person_id))
    }
    reviews = result.reviews
    best_review: dict[tuple[int, int], tuple[float, int, float, int]] = {}
    for a, b, w, p, r in zip(
        reviews.left.tolist(),
        reviews.right.tolist(),
        reviews.weight.tolist(),
        reviews.probability.tolist(),
        reviews.rule.tolist(),
        strict=True,
    ):
        if final[a] == final[b]:
            continue
        if not unlinked[a] and not unlinked[b]:
            continue
        record, other = (a, b) if unlinked[a] else (b, a)
        key = (ids[record], int(final[other]))
        if key in kept_apart:
            continue
        if key not in best_review or w > best_review[key][0]:
            best_review[key] = (w, ids[other], p, r)
    review_rows = [
        (
            record_id,
            person_id,
            other_id,
            w,
            {"probability": p, "weight": w, "rule": RULES[r].value},
            "open",
            now,
        )
        for (record_id, person_id), (w, other_id, p, r) in best_review.items()
    ]
    bulk_insert(session, PatientReview.__table__, _REVIEW_COLUMNS, review_rows)  # type: ignore[arg-type]
    timings["write"] = time.perf_counter() - start
    report = DedupeReport(
        batch_id=batch_id,
        records=n,
        newly_linked=len(positions),
        new_persons=len(new_ids),
        joined_existing=joined,
        reviews=len(review_rows),
        candidate_pairs=result.candidate_pairs,
        seconds={k: round(v, 2) for k, v in timings.items()},
    )
    audit.record(
        session,
        system_principal("mpi"),
        "patient.dedupe",
        "patient_batch",
        batch_id,
        actor=actor,
        details=report.model_dump(exclude={"seconds"}),
    )
    session.commit()
    _refresh_statistics(session)
    return report


def _refresh_statistics(session: Session) -> None:
    """After a batch, give PostgreSQL's planner fresh statistics at once.

    Autovacuum gets there eventually, but right after a million-row load the
    real-time look-ups ran on stale estimates (p95 61 ms instead of ~40 ms).
    SQLite plans from its indexes alone and needs nothing here.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "ANALYZE patient_source_record, patient_blocking_key, patient_record_link, "
            "patient_person"
        )
    )
    session.commit()


def export_links(session: Session) -> Iterator[tuple[str, str]]:
    """``(record_key, person_id)`` for every loaded record, in load order (no person: "")."""
    result = session.execute(
        select(R.record_key, P.public_id)
        .outerjoin(L, L.record_id == R.id)
        .outerjoin(P, P.id == L.person_id)
        .order_by(R.id)
        .execution_options(yield_per=20_000)
    )
    for record_key, person in result:
        yield record_key, person or ""


# --- for the batch loads of other contexts (the demo's activity, benchmarks) -------------------


@dataclass(frozen=True)
class DirectoryEntry:
    """A source record, the person it belongs to now, and the little a planner needs of them."""

    record_id: int
    record_key: str
    establishment_code: str | None
    person_id: str  # the person's public id
    sex: str | None
    birth_year: int | None


def record_directory(session: Session) -> list[DirectoryEntry]:
    """Every linked record with its current person, in record id order.

    For batch writers that attach activity to records (the demo's care pathways,
    benchmarks): no audit here, the caller audits its load. Minimal fields only:
    no names, no identifiers.
    """
    rows = session.execute(
        select(R.id, R.record_key, R.establishment_code, P.public_id, R.sex, R.birth_date)
        .join(L, L.record_id == R.id)
        .join(P, P.id == L.person_id)
        .order_by(R.id)
        .execution_options(yield_per=50_000)
    )
    return [
        DirectoryEntry(
            int(record_id),
            key,
            establishment,
            person,
            sex,
            birth.year if birth is not None else None,
        )
        for record_id, key, establishment, person, sex, birth in rows
    ]
