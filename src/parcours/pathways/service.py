"""Use cases of the care pathways: referrals, encounters, beds, the map, the timeline.

The rules live in the pure modules (``referral``, ``pathway_map``, ``routing``,
``encounter``); each function here loads what they need, calls them, stores
the outcome and writes the audit trail, in one transaction.

Concurrency: a referral row carries ``version``; a transition is stored with
``UPDATE … WHERE id = :id AND version = :seen``. Zero rows updated means that
somebody else acted in between: the transaction is rolled back and the caller
gets HTTP 409 (``stale_version``). On SQLite the ``BEGIN IMMEDIATE`` write lock
already serialises the two, and the second then meets the new state (409 as
well). The unique (referral, version) of ``referral_event`` is the last guard.

Access (law 09-08): a referral is read by the people of its two ends (source
or destination in the reader's scope); its clinical summary and the
counter-referral only by clinicians. A person's timeline needs the reader's
scope to cover one of the establishments where the person was registered or
seen, or a stated reason (break-the-glass, audited apart). Every read of
personal data and every write is audited.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import Permission, Principal, ScopeKind, system_principal
from parcours.access.service import require
from parcours.config import get_settings
from parcours.db import lock_for_update, utcnow
from parcours.errors import Forbidden, Invalid, NotFound
from parcours.pathways import encounter as census_rules
from parcours.pathways import icd10, network, pathway_map, routing
from parcours.pathways import referral as machine
from parcours.pathways.encounter import EncounterKind, ServiceCensus
from parcours.pathways.models import (
    BedCensus,
    Encounter,
    EncounterDiagnosis,
    PathwayMapException,
    PathwayMapVersion,
    Referral,
    ReferralEvent,
)
from parcours.pathways.referral import (
    Action,
    Payload,
    Priority,
    ReferralSnapshot,
    ReferralState,
    Side,
    TransitionRefused,
)
from parcours.pathways.rows import snapshot_columns
from parcours.pathways.schemas import (
    AttachmentIn,
    BypassOut,
    CensusOut,
    CensusRow,
    DiagnosisOut,
    DischargeIn,
    EncounterIn,
    EncounterOut,
    EventOut,
    FlowEdge,
    InboxOut,
    InboxPages,
    LevelFlow,
    MapArrow,
    MapChangeIn,
    MapExceptionOut,
    MapNode,
    MapVersionOut,
    PathwayMapOut,
    PersonRef,
    ProposalOut,
    ReferralIn,
    ReferralOut,
    RoutingOut,
    SweepOut,
    TimelineItem,
    TimelineOut,
    TransitionIn,
)
from parcours.patients import service as patients
from parcours.patients.schemas import PersonBrief
from parcours.territory.rules import normalise_code

SYSTEM_ACTOR = "system:pathways"
#: Rows in each list of an inbox page (the busiest hospital has thousands open).
INBOX_LIMIT = 50
TIMELINE_LIMIT = 500
#: The epoch of version 1 when no version was ever stored (a fresh database).
MAP_EPOCH = datetime(2025, 10, 1, tzinfo=UTC)

OPEN = "in_progress"
FINISHED = "finished"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def deadlines() -> Mapping[Priority, timedelta]:
    settings = get_settings()
    return machine.deadlines_from_hours(
        settings.referral_deadline_urgent_hours,
        settings.referral_deadline_priority_hours,
        settings.referral_deadline_routine_hours,
    )


def _specialty_name(code: str | None) -> str | None:
    return pathway_map.specialty_name(code) if code else None


def _known_establishment(net: network.Network, code: str) -> str:
    code = normalise_code(code)
    if net.index.get(code) is None:
        raise NotFound(
            "Établissement introuvable : {establishment}",
            code="establishment_not_found",
            establishment=code,
        )
    return code


def _require_open(net: network.Network, code: str) -> None:
    est = net.index.get(code)
    if est is None or not est.is_open:
        raise Invalid(
            "{destination} n'est pas en service.", code="destination_closed", destination=code
        )


def _known_specialty(code: str) -> str:
    if code not in pathway_map.SPECIALTY_NAMES:
        raise Invalid(
            "Spécialité inconnue : {specialty}.", code="unknown_specialty", specialty=code
        )
    return code


def _records_of(session: Session, person_id: str) -> patients.PersonRecords:
    """The person's records; a person with none (all moved elsewhere) cannot be seen or referred."""
    records = patients.person_records(session, person_id)
    if not records.records:
        raise Invalid(
            "La personne {person} n'a aucune fiche active.",
            code="person_without_record",
            person=records.person_id,
        )
    return records


def care_places(session: Session, records: patients.PersonRecords) -> set[str]:
    """The establishments that know a person: where a record of theirs was registered, where
    they were seen, and both ends of their referrals.

    One rule for who may look at a person's pathway (the timeline) and from where they may
    be referred: being in an establishment's inbox makes the patient known there.
    """
    ids = records.record_ids
    places = set(records.establishments)
    if not ids:
        return places
    places.update(
        session.scalars(
            select(Encounter.establishment_code).where(Encounter.record_id.in_(ids)).distinct()
        )
    )
    for source, destination in session.execute(
        select(Referral.source, Referral.destination).where(Referral.record_id.in_(ids)).distinct()
    ):
        places.update((source, destination))
    return places


def _require_known_at(
    session: Session, records: patients.PersonRecords, code: str, net: network.Network
) -> None:
    """Nobody refers a patient from, or opens a venue at, an establishment that never had
    them: they were registered there (the desk's record), seen there, or a referral
    brought them there."""
    if code not in care_places(session, records):
        raise Forbidden(
            "Cette personne n'est pas connue de {establishment} : enregistrez-la d'abord à "
            "l'accueil (fiche ou venue) de l'établissement.",
            code="person_not_known_here",
            establishment=net.name(code),
        )


def _covers(
    principal: Principal, codes: Iterable[str | None], provinces: Mapping[str, str]
) -> bool:
    if principal.scope.kind is ScopeKind.GST:
        return True
    return any(c is not None and principal.scope.covers(c, provinces.get(c, "")) for c in codes)


def _require_at(
    principal: Principal, permission: Permission, code: str, provinces: Mapping[str, str]
) -> None:
    require(principal, permission)
    if not _covers(principal, [code], provinces):
        raise Forbidden(
            "Cet établissement ({establishment}) n'est pas dans votre périmètre.",
            code="out_of_scope",
            establishment=code,
        )


# --- the pathway map: versions ---------------------------------------------------------


def _version_of(session: Session, row: PathwayMapVersion) -> pathway_map.MapVersion:
    exceptions = session.scalars(
        select(PathwayMapException)
        .where(PathwayMapException.version_number == row.number)
        .order_by(PathwayMapException.source, PathwayMapException.specialty)
    ).all()
    return pathway_map.MapVersion(
        number=row.number,
        author=row.author,
        created_at=row.created_at,
        reason=row.reason,
        exceptions=tuple(
            pathway_map.MapException(e.source, e.specialty, e.destination, e.note)
            for e in exceptions
        ),
    )


def current_map(session: Session) -> pathway_map.MapVersion:
    """The latest published version; version 1 (the default rules) on a fresh database."""
    row = session.scalars(
        select(PathwayMapVersion).order_by(PathwayMapVersion.number.desc()).limit(1)
    ).first()
    if row is None:
        return pathway_map.initial_map("system", MAP_EPOCH)
    return _version_of(session, row)


def map_versions(session: Session) -> dict[int, pathway_map.MapVersion]:
    rows = session.scalars(select(PathwayMapVersion).order_by(PathwayMapVersion.number)).all()
    versions = {r.number: _version_of(session, r) for r in rows}
    if 1 not in versions:
        versions[1] = pathway_map.initial_map("system", MAP_EPOCH)
    return versions


def _version_out(version: pathway_map.MapVersion) -> MapVersionOut:
    return MapVersionOut(
        number=version.number,
        author=version.author,
        created_at=version.created_at,
        reason=version.reason,
        exceptions=[
            MapExceptionOut(
                source=e.source, specialty=e.specialty, destination=e.destination, note=e.note
            )
            for e in version.exceptions
        ],
    )


def list_map_versions(session: Session, principal: Principal) -> list[MapVersionOut]:
    require(principal, Permission.AGGREGATES_READ)
    return [
        _version_out(v) for v in sorted(map_versions(session).values(), key=lambda v: -v.number)
    ]


def _store_version(session: Session, version: pathway_map.MapVersion) -> None:
    session.add(
        PathwayMapVersion(
            number=version.number,
            author=version.author,
            created_at=version.created_at,
            reason=version.reason,
        )
    )
    session.flush()
    for e in version.exceptions:
        session.add(
            PathwayMapException(
                version_number=version.number,
                source=e.source,
                specialty=e.specialty,
                destination=e.destination,
                note=e.note,
            )
        )


def amend_map(
    session: Session, principal: Principal, change: MapChangeIn, *, now: datetime | None = None
) -> MapVersionOut:
    """Publish the next version of the map; past referrals keep the version they followed."""
    require(principal, Permission.PATHWAY_MAP_MANAGE)
    if principal.scope.kind is not ScopeKind.GST:
        raise Forbidden(
            "La carte sanitaire est fixée par l'administration régionale "
            "(périmètre : tout le GST).",
            code="gst_scope_required",
        )
    net = network.load(session)
    if lock_for_update(session):
        session.execute(select(PathwayMapVersion.number).with_for_update())
    stored = session.scalar(select(func.count()).select_from(PathwayMapVersion)) or 0
    previous = current_map(session)
    add = [
        pathway_map.MapException(
            normalise_code(e.source),
            e.specialty or None,
            normalise_code(e.destination),
            e.note.strip(),
        )
        for e in change.add
    ]
    for exc in add:
        problems = pathway_map.validate_exception(exc, net.index.by_code)
        if problems:
            raise Invalid(
                "Exception refusée : {problems}.",
                code="map_exception_invalid",
                problems=" ; ".join(problems),
            )
    remove = [(normalise_code(e.source), e.specialty or None) for e in change.remove]
    at = max(_now(now), previous.created_at)
    version = pathway_map.amend_map(
        previous, author=principal.username, at=at, reason=change.reason, add=add, remove=remove
    )
    if not stored:
        _store_version(session, previous)
    _store_version(session, version)
    audit.record(
        session,
        principal,
        "pathway_map.amend",
        "pathway_map_version",
        str(version.number),
        reason=change.reason,
        details={
            "add": [e.model_dump() for e in change.add],
            "remove": [e.model_dump() for e in change.remove],
        },
    )
    session.commit()
    return _version_out(version)


# --- live facts: beds and waits -------------------------------------------------------------


def _occupied(session: Session, specialty: str | None = None) -> dict[tuple[str, str], int]:
    query = select(BedCensus.establishment_code, BedCensus.specialty, BedCensus.occupied)
    if specialty is not None:
        query = query.where(BedCensus.specialty == specialty)
    return {(e, s): int(o) for e, s, o in session.execute(query)}


def _median_waits(session: Session, specialty: str, now: datetime) -> dict[str, timedelta]:
    """Per destination: median of (appointment − sent) over the referrals scheduled lately."""
    since = now - timedelta(days=get_settings().routing_wait_days)
    rows = session.execute(
        select(Referral.destination, Referral.sent_at, Referral.appointment_at).where(
            Referral.specialty == specialty,
            Referral.scheduled_at >= since,
            Referral.scheduled_at <= now,
        )
    )
    waits: dict[str, list[timedelta]] = defaultdict(list)
    for destination, sent, appointment in rows:
        if sent is not None and appointment is not None:
            waits[destination].append(max(appointment - sent, timedelta(0)))
    out: dict[str, timedelta] = {}
    for destination, values in waits.items():
        median = routing.median_duration(values)
        if median is not None:
            out[destination] = median
    return out


def live_facts(
    session: Session, net: network.Network, specialty: str, now: datetime
) -> dict[str, routing.LiveFacts]:
    occupied = _occupied(session, specialty)
    waits = _median_waits(session, specialty, now)
    facts: dict[str, routing.LiveFacts] = {}
    for est in net.index.offering(specialty):
        declared = est.beds(specialty)
        beds = max(declared - occupied.get((est.code, specialty), 0), 0) if declared > 0 else None
        facts[est.code] = routing.LiveFacts(beds_available=beds, median_wait=waits.get(est.code))
    return facts


# --- routing -------------------------------------------------------------------------


def _proposal_out(p: routing.Proposal) -> ProposalOut:
    return ProposalOut(
        rank=p.rank,
        code=p.code,
        name=p.name,
        care_level=p.care_level,
        designated=p.designated,
        level_fit=p.level_fit.value,
        distance_km=None if p.distance_km is None else round(p.distance_km, 1),
        beds_available=p.beds_available,
        median_wait_days=(
            None if p.median_wait is None else round(p.median_wait.total_seconds() / 86400, 1)
        ),
        flags=sorted(f.value for f in p.flags),
        reasons=list(p.reasons),
    )


def route(
    session: Session,
    principal: Principal,
    source: str,
    specialty: str,
    priority: Priority = Priority.ROUTINE,
    *,
    needs_bed: bool | None = None,
    limit: int | None = 10,
    now: datetime | None = None,
) -> RoutingOut:
    """Where ``source`` may refer for ``specialty`` now: the map's answer first, then the rest."""
    require(principal, Permission.TERRITORY_READ)
    net = network.load(session)
    source = _known_establishment(net, source)
    specialty = _known_specialty(specialty)
    version = current_map(session)
    at = _now(now)
    facts = live_facts(session, net, specialty, at)
    est = net.index.get(source)
    assert est is not None
    result = routing.propose(
        est,
        specialty,
        priority,
        version,
        net.index,
        facts,
        needs_bed=priority is Priority.URGENT if needs_bed is None else needs_bed,
        limit=limit,
    )
    return RoutingOut(
        source=source,
        specialty=specialty,
        priority=priority,
        map_version=result.map_version,
        designated=result.designation.destination if result.designation else None,
        designation_reason=result.designation.reason if result.designation else None,
        designation_rule=result.designation.rule.value if result.designation else None,
        designation_notes=list(result.designation.notes) if result.designation else [],
        proposals=[_proposal_out(p) for p in result.proposals],
    )


# --- referrals: rows and snapshots -------------------------------------------------------


def _snapshot(row: Referral) -> ReferralSnapshot:
    return ReferralSnapshot(
        source=row.source,
        destination=row.destination,
        specialty=row.specialty,
        priority=Priority(row.priority),
        created_at=row.created_at,
        state=ReferralState(row.state),
        version=row.version,
        id=row.id,
        bed_request=row.bed_request,
        bed_service=row.bed_service,
        map_version=row.map_version,
        designated_destination=row.designated_destination,
        parent_id=row.parent_id,
        root_id=row.root_id,
        chain=tuple(c for c in row.chain.split(">") if c),
        sent_at=row.sent_at,
        answer_due_at=row.answer_due_at,
        received_at=row.received_at,
        answered_at=row.answered_at,
        appointment_at=row.appointment_at,
        scheduled_at=row.scheduled_at,
        arrived_at=row.arrived_at,
        closed_at=row.closed_at,
        closing_reason=row.closing_reason,
        redirected_to=row.redirected_to,
        counter_referral=row.counter_referral,
        last_event_at=row.last_event_at,
    )


def _event_row(referral_id: int, event: machine.ReferralEvent) -> ReferralEvent:
    return ReferralEvent(
        referral_id=referral_id,
        version=event.version,
        action=event.action.value if event.action else None,
        from_state=event.from_state.value if event.from_state else None,
        to_state=event.to_state.value,
        at=event.at,
        by=event.by,
        side=event.side.value,
        reason=event.reason,
        destination=event.destination,
        appointment_at=event.appointment_at,
        immediate=event.immediate,
        related_id=event.related_id,
    )


def _new_row(
    snapshot: ReferralSnapshot, record_id: int, by: str, content: Mapping[str, Any]
) -> Referral:
    return Referral(
        record_id=record_id,
        source=snapshot.source,
        destination=snapshot.destination,
        specialty=snapshot.specialty,
        priority=snapshot.priority.value,
        bed_request=snapshot.bed_request,
        bed_service=snapshot.bed_service,
        map_version=snapshot.map_version,
        designated_destination=snapshot.designated_destination,
        parent_id=snapshot.parent_id,
        root_id=snapshot.root_id,
        chain=">".join(snapshot.chain),
        created_at=snapshot.created_at,
        created_by=by,
        **snapshot_columns(snapshot),
        **content,
    )


def _event_out(e: ReferralEvent) -> EventOut:
    action = Action(e.action) if e.action else None
    return EventOut(
        version=e.version,
        action=e.action,
        label=action.label if action else machine.CREATION_LABEL,
        from_state=e.from_state,
        to_state=e.to_state,
        at=e.at,
        by=e.by,
        side=e.side,
        reason=e.reason,
        destination=e.destination,
        appointment_at=e.appointment_at,
        immediate=e.immediate,
        related_id=e.related_id,
    )


def _person_ref(brief: PersonBrief | None) -> PersonRef | None:
    if brief is None:
        return None
    return PersonRef(
        person_id=brief.person_id,
        display_name=brief.display_name,
        sex=brief.sex,
        birth_date=brief.birth_date,
    )


def _sides(
    principal: Principal, snapshot: ReferralSnapshot, provinces: Mapping[str, str]
) -> frozenset[Side]:
    return machine.sides_of(
        principal,
        source=snapshot.source,
        source_province=provinces.get(snapshot.source, ""),
        destination=snapshot.destination,
        destination_province=provinces.get(snapshot.destination, ""),
    )


def _offered(
    principal: Principal, snapshot: ReferralSnapshot, sides: frozenset[Side], now: datetime
) -> list[str]:
    actions = machine.available_actions(snapshot, sides, now)
    return [
        a.value
        for a in actions
        if a.rule.permission is not None and principal.can(a.rule.permission)
    ]


def _referral_out(
    row: Referral,
    net: network.Network,
    principal: Principal,
    now: datetime,
    *,
    person: PersonBrief | None = None,
    history: Sequence[ReferralEvent] = (),
    children: Sequence[int] = (),
) -> ReferralOut:
    snapshot = _snapshot(row)
    clinical = principal.can(Permission.CLINICAL_READ)
    sides = _sides(principal, snapshot, net.provinces)
    return ReferralOut(
        id=row.id,
        person=_person_ref(person),
        source=row.source,
        source_name=net.name(row.source),
        destination=row.destination,
        destination_name=net.name(row.destination),
        specialty=row.specialty,
        specialty_name=pathway_map.specialty_name(row.specialty),
        priority=snapshot.priority,
        state=snapshot.state.value,
        state_label=snapshot.state.label,
        version=row.version,
        referring_professional=row.referring_professional,
        reason=row.reason,
        clinical_summary=row.clinical_summary if clinical else None,
        attachments=[AttachmentIn.model_validate(a) for a in row.attachments or []],
        bed_request=row.bed_request,
        bed_service=row.bed_service,
        map_version=row.map_version,
        designated_destination=row.designated_destination,
        along_map=snapshot.along_map,
        parent_id=row.parent_id,
        root_id=row.root_id,
        chain=list(snapshot.chain),
        created_at=row.created_at,
        created_by=row.created_by,
        sent_at=row.sent_at,
        answer_due_at=row.answer_due_at,
        deadline_status=machine.deadline_status(snapshot, now).value,
        received_at=row.received_at,
        answered_at=row.answered_at,
        appointment_at=row.appointment_at,
        arrived_at=row.arrived_at,
        closed_at=row.closed_at,
        closing_reason=row.closing_reason,
        redirected_to=row.redirected_to,
        counter_referral=row.counter_referral if clinical else None,
        last_event_at=row.last_event_at,
        history=[_event_out(e) for e in history],
        children=list(children),
        available_actions=_offered(principal, snapshot, sides, now),
    )


def _referral_row(session: Session, referral_id: int, *, lock: bool = False) -> Referral:
    query = select(Referral).where(Referral.id == referral_id)
    if lock and lock_for_update(session):
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(
            "Référence introuvable : {referral}", code="referral_not_found", referral=referral_id
        )
    return row


def _check_reader(principal: Principal, row: Referral, provinces: Mapping[str, str]) -> None:
    if not (principal.can(Permission.PATIENT_READ) or principal.can(Permission.CLINICAL_READ)):
        raise Forbidden("Votre rôle ne donne pas accès aux références.", code="permission_denied")
    if not _covers(principal, [row.source, row.destination], provinces):
        raise Forbidden(
            "Cette référence ne concerne aucun établissement de votre périmètre ({scope}).",
            code="outside_scope",
            scope=principal.scope.describe(),
        )


def _full_out(
    session: Session, row: Referral, net: network.Network, principal: Principal, now: datetime
) -> ReferralOut:
    history = session.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == row.id)
        .order_by(ReferralEvent.version)
    ).all()
    children = session.scalars(select(Referral.id).where(Referral.parent_id == row.id)).all()
    person = patients.persons_of_records(session, [row.record_id]).get(row.record_id)
    return _referral_out(
        row, net, principal, now, person=person, history=history, children=children
    )


def get_referral(
    session: Session, principal: Principal, referral_id: int, *, now: datetime | None = None
) -> ReferralOut:
    """A referral with its history; audited, scoped to its two ends."""
    net = network.load(session)
    row = _referral_row(session, referral_id)
    _check_reader(principal, row, net.provinces)
    out = _full_out(session, row, net, principal, _now(now))
    audit.record(session, principal, "referral.read", "referral", str(row.id))
    session.commit()
    return out


# --- referrals: creating and acting -------------------------------------------------------


def create_referral(
    session: Session, principal: Principal, data: ReferralIn, *, now: datetime | None = None
) -> ReferralOut:
    """Draft a referral (and send it unless ``data.send`` is false).

    The map's designation is stamped on the referral with the map version, so
    that a later change of the map never changes whether it went along it.
    """
    at = _now(now)
    net = network.load(session)
    source = _known_establishment(net, data.source)
    _require_at(principal, Permission.CLINICAL_WRITE, source, net.provinces)
    specialty = _known_specialty(data.specialty)
    records = _records_of(session, data.person_id)
    _require_known_at(session, records, source, net)
    record_id = records.record_at(source) or records.record_ids[-1]
    version = current_map(session)
    designation = pathway_map.designated_destination(source, specialty, version, net.index)
    if data.destination:
        destination = _known_establishment(net, data.destination)
    elif designation is not None:
        destination = designation.destination
    else:
        raise Invalid(
            "La carte sanitaire ne désigne aucun établissement pour {specialty} depuis {source} : "
            "choisissez la destination.",
            code="no_designated_destination",
            specialty=pathway_map.specialty_name(specialty),
            source=source,
        )
    _require_open(net, destination)
    transition = machine.new_referral(
        source=source,
        destination=destination,
        specialty=specialty,
        priority=data.priority,
        now=at,
        by=principal.username,
        bed_request=data.bed_request,
        bed_service=data.bed_service or (specialty if data.bed_request else None),
        map_version=version.number,
        designated_destination=designation.destination if designation else None,
    )
    content = {
        "reason": data.reason.strip(),
        "clinical_summary": (data.clinical_summary or "").strip() or None,
        "referring_professional": (data.referring_professional or "").strip() or principal.username,
        "attachments": [a.model_dump() for a in data.attachments],
    }
    row = _new_row(transition.snapshot, record_id, principal.username, content)
    session.add(row)
    session.flush()
    session.add(_event_row(row.id, transition.event))
    snapshot = replace(transition.snapshot, id=row.id)
    if data.send:
        sent = machine.apply(
            snapshot, Action.SEND, Side.REFERRING, at, by=principal.username, deadlines=deadlines()
        )
        for name, value in snapshot_columns(sent.snapshot).items():
            setattr(row, name, value)
        session.add(_event_row(row.id, sent.event))
    session.flush()
    audit.record(
        session,
        principal,
        "referral.create",
        "referral",
        str(row.id),
        details={
            "source": source,
            "destination": destination,
            "specialty": specialty,
            "priority": data.priority.value,
            "along_map": transition.snapshot.along_map,
            "sent": data.send,
        },
    )
    out = _full_out(session, row, net, principal, at)
    session.commit()
    return out


def _update_if_unchanged(
    session: Session, referral_id: int, seen_version: int, snapshot: ReferralSnapshot
) -> bool:
    """Store ``snapshot`` only if the row is still at ``seen_version`` (the optimistic lock)."""
    result = session.execute(
        update(Referral)
        .where(Referral.id == referral_id, Referral.version == seen_version)
        .values(**snapshot_columns(snapshot))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _store_transition(
    session: Session, row: Referral, seen_version: int, transition: machine.Transition
) -> None:
    if not _update_if_unchanged(session, row.id, seen_version, transition.snapshot):
        session.rollback()
        current = session.scalar(select(Referral.version).where(Referral.id == row.id))
        raise TransitionRefused("stale_version", current=current, expected=seen_version)
    session.add(_event_row(row.id, transition.event))
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise TransitionRefused(
            "stale_version", current=seen_version + 1, expected=seen_version
        ) from exc
    session.refresh(row)


def _spawn(
    session: Session, parent: Referral, transition: machine.Transition, by: str
) -> Referral | None:
    if transition.spawned is None or transition.spawned_event is None:
        return None
    child = _new_row(
        transition.spawned,
        parent.record_id,
        by,
        {
            "reason": parent.reason,
            "clinical_summary": parent.clinical_summary,
            "referring_professional": parent.referring_professional,
            "attachments": list(parent.attachments or []),
        },
    )
    session.add(child)
    session.flush()
    session.add(_event_row(child.id, transition.spawned_event))
    return child


def transition(
    session: Session,
    principal: Principal,
    referral_id: int,
    data: TransitionIn,
    *,
    now: datetime | None = None,
) -> ReferralOut:
    """Move a referral one step (accept, refuse, redirect, schedule, arrive, complete…)."""
    at = _now(now)
    net = network.load(session)
    row = _referral_row(session, referral_id, lock=False)
    snapshot = _snapshot(row)
    side = machine.acting_side(
        principal,
        snapshot,
        data.action,
        source_province=net.provinces.get(row.source, ""),
        destination_province=net.provinces.get(row.destination, ""),
    )
    if data.action is Action.REDIRECT and data.destination:
        _require_open(net, _known_establishment(net, data.destination))
    payload = Payload(
        reason=data.reason,
        destination=data.destination,
        appointment_at=data.appointment_at,
        immediate=data.immediate,
        counter_referral=data.counter_referral,
    )
    moved = machine.apply(
        snapshot,
        data.action,
        side,
        at,
        payload,
        by=principal.username,
        expected_version=data.expected_version,
        deadlines=deadlines(),
    )
    _store_transition(session, row, snapshot.version, moved)
    child = _spawn(session, row, moved, principal.username)
    encounter_id = None
    if data.action is Action.ARRIVE:
        encounter_id = _arrival_encounter(session, row, principal.username, at)
    audit.record(
        session,
        principal,
        f"referral.{data.action.value}",
        "referral",
        str(row.id),
        reason=moved.event.reason,
        details={
            "from": snapshot.state.value,
            "to": moved.snapshot.state.value,
            "side": side.value,
            **({"redirected_as": child.id} if child is not None else {}),
            **({"encounter": encounter_id} if encounter_id is not None else {}),
        },
    )
    out = _full_out(session, row, net, principal, at)
    session.commit()
    return out


def _arrival_encounter(session: Session, row: Referral, by: str, at: datetime) -> int:
    """The patient's encounter at the receiving establishment, tied to the referral.

    A bed request opens a stay in the requested service (in overflow when full:
    the patient is there); otherwise it is a consultation in the specialty.
    """
    if row.bed_request:
        specialty = row.bed_service or row.specialty
        overflow = _take_bed(session, row.destination, specialty, allow_overflow=True)
        enc = Encounter(
            record_id=row.record_id,
            establishment_code=row.destination,
            kind=EncounterKind.ADMISSION.value,
            status=OPEN,
            specialty=specialty,
            start_at=at,
            referral_id=row.id,
            overflow=overflow,
            created_at=at,
            created_by=by,
        )
    else:
        enc = Encounter(
            record_id=row.record_id,
            establishment_code=row.destination,
            kind=EncounterKind.CONSULTATION.value,
            status=FINISHED,
            specialty=row.specialty,
            start_at=at,
            end_at=at,
            referral_id=row.id,
            created_at=at,
            created_by=by,
        )
    session.add(enc)
    session.flush()
    return enc.id


def expire_overdue(session: Session, *, now: datetime | None = None, limit: int = 1000) -> SweepOut:
    """Expire referrals left unanswered past their deadline (the system acts, and is audited)."""
    at = _now(now)
    principal = system_principal("expiry")
    rows = session.scalars(
        select(Referral)
        .where(
            Referral.state.in_([ReferralState.SENT.value, ReferralState.RECEIVED.value]),
            Referral.answer_due_at <= at,
        )
        .order_by(Referral.answer_due_at)
        .limit(limit)
    ).all()
    expired: list[int] = []
    for row in rows:
        snapshot = _snapshot(row)
        try:
            moved = machine.apply(snapshot, Action.EXPIRE, Side.SYSTEM, at, by=SYSTEM_ACTOR)
        except TransitionRefused:
            continue
        if not _update_if_unchanged(session, row.id, snapshot.version, moved.snapshot):
            continue  # answered at the last moment: the answer stands
        session.add(_event_row(row.id, moved.event))
        audit.record(
            session,
            principal,
            "referral.expire",
            "referral",
            str(row.id),
            details={"from": snapshot.state.value, "due": str(row.answer_due_at)},
        )
        expired.append(row.id)
    session.commit()
    return SweepOut(expired=len(expired), ids=expired)


# --- inboxes ------------------------------------------------------------------------


_UNANSWERED_STATES = [ReferralState.SENT.value, ReferralState.RECEIVED.value]
_ANSWERED_OPEN_STATES = [
    ReferralState.ACCEPTED.value,
    ReferralState.APPOINTMENT_SCHEDULED.value,
    ReferralState.PATIENT_ARRIVED.value,
]
_INCOMING_STATES = [*_UNANSWERED_STATES, *_ANSWERED_OPEN_STATES]
_OUTGOING_STATES = [ReferralState.DRAFT.value, *_INCOMING_STATES]


def _ids(session: Session, query: Select[int], limit: int, offset: int) -> list[int]:
    return list(session.scalars(query.limit(limit).offset(offset))) if limit > 0 else []


def _incoming_ids(
    session: Session, code: str, unanswered: int, limit: int, offset: int
) -> list[int]:
    """The incoming page, unanswered first by deadline, then the answered ones.

    Two ordered reads of ``ix_referral_inbox`` rather than one sort on a computed
    "unanswered first" expression: the sort had to read every open row of the
    establishment (thousands at the CHU), these read only the page.
    """

    def by_due(states: list[str]) -> Select[int]:
        return (
            select(Referral.id)
            .where(Referral.destination == code, Referral.state.in_(states))
            .order_by(Referral.answer_due_at, Referral.id)
        )

    first = _ids(session, by_due(_UNANSWERED_STATES), limit, offset) if offset < unanswered else []
    rest = limit - len(first)
    return first + _ids(session, by_due(_ANSWERED_OPEN_STATES), rest, max(0, offset - unanswered))


def _rows_in_order(session: Session, ids: Sequence[int]) -> list[Referral]:
    if not ids:
        return []
    found = {r.id: r for r in session.scalars(select(Referral).where(Referral.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def inbox(
    session: Session,
    principal: Principal,
    establishment: str,
    *,
    now: datetime | None = None,
    limit: int = INBOX_LIMIT,
    pages: InboxPages | None = None,
    counter_referral_days: int = 30,
) -> InboxOut:
    """What an establishment has to answer, what it waits for, and the reports come back.

    Incoming: referrals addressed to it and not closed, unanswered first by
    deadline. Outgoing: its referrals awaiting an answer or the counter-referral.
    Counter-referrals: its referrals completed in the last ``counter_referral_days``.
    Each list is a page of ``limit`` rows (``pages`` says which); the totals count all.
    """
    at = _now(now)
    at_page = pages or InboxPages()
    net = network.load(session)
    code = _known_establishment(net, establishment)
    require(principal, Permission.PATIENT_READ)
    _require_at(principal, Permission.PATIENT_READ, code, net.provinces)
    since = at - timedelta(days=counter_referral_days)
    unanswered = Referral.state.in_(_UNANSWERED_STATES)
    incoming_total, unanswered_total, overdue = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((unanswered, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(unanswered, Referral.answer_due_at <= at), 1), else_=0)), 0
            ),
        ).where(Referral.destination == code, Referral.state.in_(_INCOMING_STATES))
    ).one()
    outgoing_where = (Referral.source == code, Referral.state.in_(_OUTGOING_STATES))
    returned_where = (
        Referral.source == code,
        Referral.state == ReferralState.COMPLETED.value,
        Referral.closed_at >= since,
    )
    outgoing_total = session.scalar(select(func.count()).where(*outgoing_where)) or 0
    returned_total = session.scalar(select(func.count()).where(*returned_where)) or 0
    incoming = _rows_in_order(
        session,
        _incoming_ids(session, code, int(unanswered_total), limit, (at_page.incoming - 1) * limit),
    )
    outgoing = _rows_in_order(
        session,
        _ids(
            session,
            select(Referral.id)
            .where(*outgoing_where)
            .order_by(Referral.last_event_at.desc(), Referral.id.desc()),
            limit,
            (at_page.outgoing - 1) * limit,
        ),
    )
    returned = _rows_in_order(
        session,
        _ids(
            session,
            select(Referral.id)
            .where(*returned_where)
            .order_by(Referral.closed_at.desc(), Referral.id.desc()),
            limit,
            (at_page.counter_referrals - 1) * limit,
        ),
    )
    rows = [*incoming, *outgoing, *returned]
    persons = patients.persons_of_records(session, [r.record_id for r in rows])

    def out(r: Referral) -> ReferralOut:
        return _referral_out(r, net, principal, at, person=persons.get(r.record_id))

    result = InboxOut(
        establishment=code,
        establishment_name=net.name(code),
        incoming=[out(r) for r in incoming],
        outgoing=[out(r) for r in outgoing],
        counter_referrals=[out(r) for r in returned],
        incoming_total=int(incoming_total),
        outgoing_total=int(outgoing_total),
        counter_referrals_total=int(returned_total),
        overdue=int(overdue),
        page_size=limit,
        pages=at_page,
    )
    audit.record(
        session,
        principal,
        "referral.inbox.read",
        "establishment",
        code,
        details={"referrals": len(rows)},
    )
    session.commit()
    return result


# --- encounters and the census ---------------------------------------------------------


def _census_row(session: Session, establishment: str, specialty: str) -> BedCensus:
    query = select(BedCensus).where(
        BedCensus.establishment_code == establishment, BedCensus.specialty == specialty
    )
    if lock_for_update(session):
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        row = BedCensus(
            establishment_code=establishment, specialty=specialty, occupied=0, updated_at=utcnow()
        )
        session.add(row)
        session.flush()
    return row


def _take_bed(
    session: Session, establishment: str, specialty: str, *, allow_overflow: bool
) -> bool:
    """Occupy one bed; returns whether the admission is in overflow (no free bed)."""
    net = network.load(session)
    est = net.index.get(establishment)
    declared = est.beds(specialty) if est else 0
    row = _census_row(session, establishment, specialty)
    census = ServiceCensus(establishment, specialty, declared, row.occupied)
    overflow = census.free <= 0
    after = census_rules.admit(census, overflow=allow_overflow)
    row.occupied = after.occupied
    row.updated_at = utcnow()
    return overflow


def _free_bed(session: Session, establishment: str, specialty: str) -> None:
    row = _census_row(session, establishment, specialty)
    after = census_rules.discharge(ServiceCensus(establishment, specialty, 0, row.occupied))
    row.occupied = after.occupied
    row.updated_at = utcnow()


def _diagnoses(codes: Sequence[str]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    problems: list[str] = []
    for text in codes:
        if not text.strip():
            continue
        check = icd10.check_code(text)
        if not check.valid or check.code is None:
            problems.append(check.message)
        elif check.code not in [c for c, _ in out]:
            out.append((check.code, check.known))
    if problems:
        raise Invalid(
            "Diagnostic refusé : {problems}.",
            code="invalid_diagnosis",
            problems=" ; ".join(problems),
        )
    return out


def _encounter_out(
    enc: Encounter,
    diagnoses: Sequence[EncounterDiagnosis],
    net: network.Network,
    person_id: str | None,
) -> EncounterOut:
    kind = EncounterKind(enc.kind)
    return EncounterOut(
        id=enc.id,
        person_id=person_id,
        establishment=enc.establishment_code,
        establishment_name=net.name(enc.establishment_code),
        kind=kind,
        kind_label=kind.label,
        status=enc.status,
        specialty=enc.specialty,
        specialty_name=_specialty_name(enc.specialty),
        bed_label=enc.bed_label,
        start_at=enc.start_at,
        end_at=enc.end_at,
        discharge_mode=enc.discharge_mode,
        transfer_to=enc.transfer_to,
        referral_id=enc.referral_id,
        overflow=enc.overflow,
        diagnoses=[
            DiagnosisOut(code=d.code, label=icd10.label(d.code), known=d.known, rank=d.rank)
            for d in sorted(diagnoses, key=lambda d: d.rank)
        ],
        note=enc.note,
        created_by=enc.created_by,
    )


def _diagnoses_of(session: Session, ids: Sequence[int]) -> dict[int, list[EncounterDiagnosis]]:
    out: dict[int, list[EncounterDiagnosis]] = defaultdict(list)
    if ids:
        for d in session.scalars(
            select(EncounterDiagnosis).where(EncounterDiagnosis.encounter_id.in_(ids))
        ):
            out[d.encounter_id].append(d)
    return out


def _add_diagnoses(session: Session, enc: Encounter, codes: Sequence[tuple[str, bool]]) -> None:
    start = (
        session.scalar(
            select(func.max(EncounterDiagnosis.rank)).where(
                EncounterDiagnosis.encounter_id == enc.id
            )
        )
        or 0
    )
    for offset, (code, known) in enumerate(codes, start=1):
        session.add(
            EncounterDiagnosis(encounter_id=enc.id, rank=start + offset, code=code, known=known)
        )


def record_encounter(
    session: Session, principal: Principal, data: EncounterIn, *, now: datetime | None = None
) -> EncounterOut:
    """A consultation, an emergency visit or an admission (which takes a bed)."""
    at = _now(now)
    net = network.load(session)
    code = _known_establishment(net, data.establishment)
    _require_at(principal, Permission.PATIENT_WRITE, code, net.provinces)
    if data.diagnoses:
        require(principal, Permission.CLINICAL_WRITE)
    kind = EncounterKind(data.kind)
    start = data.start_at or at
    problems = census_rules.validate_encounter(
        kind=kind, start=start, end=data.end_at, specialty=data.specialty, diagnoses=data.diagnoses
    )
    if start > at + timedelta(minutes=5):
        problems.append("le début est dans le futur")
    if problems:
        raise Invalid(
            "Venue refusée : {problems}.", code="invalid_encounter", problems=" ; ".join(problems)
        )
    est = net.index.get(code)
    assert est is not None
    if data.specialty and not est.offers(data.specialty):
        raise Invalid(
            "{establishment} n'offre pas le service {specialty}.",
            code="service_not_offered",
            establishment=net.name(code),
            specialty=pathway_map.specialty_name(data.specialty),
        )
    records = _records_of(session, data.person_id)
    # A venue makes the patient known here, and with it their whole pathway visible from
    # here (the timeline's rule): it opens only where they already are known (a record,
    # a venue, a referral addressed here), not for anyone the MPI finds.
    _require_known_at(session, records, code, net)
    if data.referral_id is not None:
        referral = _referral_row(session, data.referral_id)
        if referral.destination != code or referral.record_id not in records.record_ids:
            raise Invalid(
                "La référence {referral} n'adresse pas cette personne à cet établissement.",
                code="referral_mismatch",
                referral=data.referral_id,
            )
    diagnoses = _diagnoses(data.diagnoses)
    overflow = False
    if kind is EncounterKind.ADMISSION:
        assert data.specialty is not None
        overflow = _take_bed(session, code, data.specialty, allow_overflow=data.overflow)
    finished = kind is not EncounterKind.ADMISSION
    enc = Encounter(
        record_id=records.record_at(code) or records.record_ids[-1],
        establishment_code=code,
        kind=kind.value,
        status=FINISHED if finished else OPEN,
        specialty=data.specialty,
        bed_label=data.bed_label,
        start_at=start,
        end_at=(data.end_at or start) if finished else None,
        referral_id=data.referral_id,
        overflow=overflow,
        note=(data.note or "").strip() or None,
        created_at=at,
        created_by=principal.username,
    )
    session.add(enc)
    session.flush()
    _add_diagnoses(session, enc, diagnoses)
    session.flush()
    audit.record(
        session,
        principal,
        f"encounter.{kind.value}",
        "encounter",
        str(enc.id),
        details={"establishment": code, "person": records.person_id, "overflow": overflow},
    )
    out = _encounter_out(enc, _diagnoses_of(session, [enc.id])[enc.id], net, records.person_id)
    session.commit()
    return out


def discharge(
    session: Session,
    principal: Principal,
    encounter_id: int,
    data: DischargeIn,
    *,
    now: datetime | None = None,
) -> EncounterOut:
    """Close a stay with its mode (home, transfer, death, against advice); frees the bed."""
    at = _now(now)
    net = network.load(session)
    query = select(Encounter).where(Encounter.id == encounter_id)
    if lock_for_update(session):
        query = query.with_for_update()
    enc = session.scalars(query).first()
    if enc is None:
        raise NotFound(
            "Séjour introuvable : {encounter}", code="encounter_not_found", encounter=encounter_id
        )
    _require_at(principal, Permission.PATIENT_WRITE, enc.establishment_code, net.provinces)
    if data.diagnoses:
        require(principal, Permission.CLINICAL_WRITE)
    if enc.kind != EncounterKind.ADMISSION.value:
        raise Invalid("Seule une hospitalisation se clôt par une sortie.", code="not_a_stay")
    if enc.status != OPEN:
        raise Invalid(
            "Ce séjour est déjà clos ({end}).", code="already_discharged", end=str(enc.end_at)
        )
    end = data.at or at
    transfer_to = normalise_code(data.transfer_to) if data.transfer_to else None
    if transfer_to:
        _known_establishment(net, transfer_to)
    problems = census_rules.validate_encounter(
        kind=EncounterKind.DISCHARGE,
        start=enc.start_at,
        end=end,
        specialty=enc.specialty,
        discharge_mode=data.mode,
        transfer_to=transfer_to,
        diagnoses=data.diagnoses,
    )
    if problems:
        raise Invalid(
            "Sortie refusée : {problems}.", code="invalid_discharge", problems=" ; ".join(problems)
        )
    diagnoses = _diagnoses(data.diagnoses)
    assert enc.specialty is not None
    _free_bed(session, enc.establishment_code, enc.specialty)
    enc.status = FINISHED
    enc.end_at = end
    enc.discharge_mode = data.mode.value
    enc.transfer_to = transfer_to
    enc.discharged_by = principal.username
    enc.version += 1
    if data.note and data.note.strip():
        enc.note = "\n".join(x for x in (enc.note, data.note.strip()) if x)
    _add_diagnoses(session, enc, diagnoses)
    session.flush()
    audit.record(
        session,
        principal,
        "encounter.discharge",
        "encounter",
        str(enc.id),
        details={"mode": data.mode.value, "transfer_to": transfer_to},
    )
    person = patients.persons_of_records(session, [enc.record_id]).get(enc.record_id)
    out = _encounter_out(
        enc,
        _diagnoses_of(session, [enc.id])[enc.id],
        net,
        person.person_id if person else None,
    )
    session.commit()
    return out


def census(
    session: Session,
    principal: Principal,
    *,
    establishment: str | None = None,
    province: str | None = None,
    specialty: str | None = None,
) -> CensusOut:
    """Beds declared, occupied and free by service across the region (no personal data)."""
    require(principal, Permission.AGGREGATES_READ)
    net = network.load(session)
    occupied = _occupied(session, specialty)
    rows: list[CensusRow] = []
    services: list[ServiceCensus] = []
    for code in sorted(net.index.by_code):
        est = net.index.by_code[code]
        if not est.is_open or (establishment and code != normalise_code(establishment)):
            continue
        if province and est.province != province:
            continue
        for spec, declared in sorted(est.services.items()):
            if specialty and spec != specialty:
                continue
            taken = occupied.get((code, spec), 0)
            if declared <= 0 and taken == 0:
                continue
            c = ServiceCensus(code, spec, declared, taken)
            services.append(c)
            rows.append(
                CensusRow(
                    establishment=code,
                    establishment_name=net.name(code),
                    province=est.province,
                    care_level=est.care_level,
                    specialty=spec,
                    specialty_name=pathway_map.specialty_name(spec),
                    declared=declared,
                    occupied=taken,
                    free=c.free,
                    occupancy=c.occupancy,
                    level=census_rules.occupancy_level(c.occupancy).value,
                )
            )
    total = census_rules.total(services)
    rows.sort(key=lambda r: (-r.care_level, r.establishment, r.specialty))
    return CensusOut(
        declared=total.declared,
        occupied=total.occupied,
        free=total.free,
        occupancy=total.occupancy,
        rows=rows,
    )


def rebuild_census(session: Session) -> int:
    """Recount the census from the stays still open (after a bulk load); returns the stays."""
    counts = session.execute(
        select(Encounter.establishment_code, Encounter.specialty, func.count())
        .where(Encounter.kind == EncounterKind.ADMISSION.value, Encounter.status == OPEN)
        .group_by(Encounter.establishment_code, Encounter.specialty)
    ).all()
    at = utcnow()
    existing = {(r.establishment_code, r.specialty): r for r in session.scalars(select(BedCensus))}
    for row in existing.values():
        row.occupied = 0
        row.updated_at = at
    total = 0
    for code, spec, n in counts:
        if spec is None:
            continue
        found = existing.get((code, spec))
        if found is None:
            found = BedCensus(establishment_code=code, specialty=spec, occupied=0, updated_at=at)
            session.add(found)
        found.occupied = int(n)
        total += int(n)
    session.flush()
    return total


# --- the timeline ---------------------------------------------------------------------


def timeline(
    session: Session,
    principal: Principal,
    person_id: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> TimelineOut:
    """Everything that happened to a person across every establishment, newest first."""
    require(principal, Permission.CLINICAL_READ)
    at = _now(now)
    net = network.load(session)
    records = patients.person_records(session, person_id)
    ids = records.record_ids
    encounters = (
        session.scalars(
            select(Encounter)
            .where(Encounter.record_id.in_(ids))
            .order_by(Encounter.start_at.desc())
            .limit(TIMELINE_LIMIT)
        ).all()
        if ids
        else []
    )
    referrals = (
        session.scalars(
            select(Referral)
            .where(Referral.record_id.in_(ids))
            .order_by(Referral.created_at.desc())
            .limit(TIMELINE_LIMIT)
        ).all()
        if ids
        else []
    )
    action = "person.timeline.read"
    if not _covers(principal, care_places(session, records), net.provinces):
        if not (reason and reason.strip()):
            raise Forbidden(
                "Cette personne n'a aucune fiche dans votre périmètre ; "
                "indiquez un motif pour y accéder (accès d'urgence, tracé).",
                code="out_of_scope",
            )
        action = "person.timeline.read.emergency"
    diagnoses = _diagnoses_of(session, [e.id for e in encounters])
    history: dict[int, list[ReferralEvent]] = defaultdict(list)
    if referrals:
        for ev in session.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id.in_([r.id for r in referrals]))
            .order_by(ReferralEvent.referral_id, ReferralEvent.version)
        ):
            history[ev.referral_id].append(ev)
    brief = patients.persons_of_records(session, ids[:1]).get(ids[0]) if ids else None
    items: list[TimelineItem] = []
    for e in encounters:
        out = _encounter_out(e, diagnoses.get(e.id, []), net, records.person_id)
        items.append(
            TimelineItem(
                at=e.start_at,
                type="encounter",
                establishment=e.establishment_code,
                establishment_name=net.name(e.establishment_code),
                title=out.kind_label + (f" — {out.specialty_name}" if out.specialty_name else ""),
                encounter=out,
            )
        )
    for r in referrals:
        rout = _referral_out(r, net, principal, at, person=brief, history=history.get(r.id, []))
        items.append(
            TimelineItem(
                at=r.sent_at or r.created_at,
                type="referral",
                establishment=r.source,
                establishment_name=net.name(r.source),
                title=f"Référence vers {net.name(r.destination)} — {rout.specialty_name}",
                referral=rout,
            )
        )
        if r.state == ReferralState.COMPLETED.value and r.closed_at is not None:
            items.append(
                TimelineItem(
                    at=r.closed_at,
                    type="counter_referral",
                    establishment=r.destination,
                    establishment_name=net.name(r.destination),
                    title=f"Contre-référence de {net.name(r.destination)} à {net.name(r.source)}",
                    referral=rout,
                )
            )
    items.sort(key=lambda i: i.at, reverse=True)
    audit.record(
        session,
        principal,
        action,
        "person",
        records.person_id,
        reason=reason.strip() if reason and reason.strip() else None,
    )
    session.commit()
    return TimelineOut(
        person_id=records.person_id,
        display_name=brief.display_name if brief else records.person_id,
        establishments=records.establishments,
        items=items,
    )


# --- the map drawn from the referrals ---------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    source: str
    destination: str
    designated: str | None
    redirected: bool
    count: int


def _referral_groups(
    session: Session, specialty: str | None, start: datetime, end: datetime
) -> list[_Group]:
    query = select(
        Referral.source,
        Referral.destination,
        Referral.designated_destination,
        Referral.parent_id.is_not(None),
        func.count(),
    ).where(Referral.sent_at >= start, Referral.sent_at < end)
    if specialty is not None:
        query = query.where(Referral.specialty == specialty)
    query = query.group_by(
        Referral.source,
        Referral.destination,
        Referral.designated_destination,
        Referral.parent_id.is_not(None),
    )
    return [_Group(s, d, g, bool(r), int(n)) for s, d, g, r, n in session.execute(query)]


def _arrival_groups(
    session: Session,
    codes: Sequence[str],
    specialty: str | None,
    start: datetime,
    end: datetime,
) -> list[tuple[pathway_map.ArrivalFact, int]]:
    if not codes:
        return []
    via = Encounter.referral_id.is_not(None)
    query = select(Encounter.establishment_code, via, Encounter.kind, func.count()).where(
        Encounter.establishment_code.in_(codes),
        Encounter.start_at >= start,
        Encounter.start_at < end,
    )
    if specialty is not None:
        query = query.where(
            or_(Encounter.specialty == specialty, Encounter.kind == EncounterKind.EMERGENCY.value)
            if specialty == "emergency"
            else Encounter.specialty == specialty
        )
    query = query.group_by(Encounter.establishment_code, via, Encounter.kind)
    return [
        (
            pathway_map.ArrivalFact(
                establishment=code,
                via_referral=bool(v),
                emergency=kind == EncounterKind.EMERGENCY.value,
                specialty=specialty,
            ),
            int(n),
        )
        for code, v, kind, n in session.execute(query)
    ]


def _repeat(groups: Iterable[tuple[Any, int]]) -> Iterator[Any]:
    """Each fact as many times as it was counted: the pure count reads facts one by one."""
    return itertools.chain.from_iterable(itertools.repeat(fact, n) for fact, n in groups)


def bypasses(
    session: Session,
    net: network.Network,
    specialty: str | None,
    start: datetime,
    end: datetime,
    watched_levels: frozenset[int] = frozenset({4}),
) -> pathway_map.BypassReport:
    """Pathway bypasses over a period: referrals outside the map, arrivals at the CHU unreferred.

    Counted in SQL by groups, judged by :func:`pathway_map.count_bypasses`.
    """
    groups = _referral_groups(session, specialty, start, end)
    watched = [c for c, e in net.index.by_code.items() if e.care_level in watched_levels]
    facts = (
        (
            pathway_map.ReferralFact(
                source=g.source,
                destination=g.destination,
                specialty=specialty or "",
                map_version=None,
                designated_destination=g.designated,
                redirected=g.redirected,
            ),
            g.count,
        )
        for g in groups
    )
    arrivals = _arrival_groups(session, watched, specialty, start, end)
    return pathway_map.count_bypasses(
        _repeat(facts), _repeat(arrivals), {}, net.index, watched_levels
    )


def _bypass_out(report: pathway_map.BypassReport) -> BypassOut:
    return BypassOut(
        referrals=report.referrals,
        redirects=report.redirects,
        unjudged=report.unjudged,
        outside_map=report.outside_map,
        outside_map_rate=report.outside_map_rate,
        arrivals=report.arrivals,
        arrivals_without_referral=report.arrivals_without_referral,
        arrivals_without_referral_emergency=report.arrivals_without_referral_emergency,
        without_referral_rate=report.without_referral_rate,
    )


def default_period(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last twelve months, to the next midnight UTC."""
    at = _now(now)
    end = datetime(at.year, at.month, at.day, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=365), end


def draw_map(
    session: Session,
    principal: Principal,
    specialty: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> PathwayMapOut:
    """A specialty's network: the designated arrows, the referral volumes, the level flows."""
    require(principal, Permission.AGGREGATES_READ)
    specialty = _known_specialty(specialty)
    if start is None or end is None:
        d_start, d_end = default_period()
        start, end = start or d_start, end or d_end
    if end <= start:
        raise Invalid("La période est vide (fin avant début).", code="empty_period")
    net = network.load(session)
    version = current_map(session)
    designated = [
        MapArrow(
            source=e.source,
            destination=e.destination,
            rule=e.rule.value,
            distance_km=None if e.distance_km is None else round(e.distance_km, 1),
        )
        for e in pathway_map.map_edges(specialty, version, net.index)
    ]
    groups = _referral_groups(session, specialty, start, end)
    flows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    levels: dict[tuple[int, int], int] = defaultdict(int)
    for g in groups:
        if g.redirected:
            continue
        f = flows[(g.source, g.destination)]
        f[0] += g.count
        if g.designated is not None:
            f[1 if g.designated == g.destination else 2] += g.count
        levels[(net.level(g.source), net.level(g.destination))] += g.count
    nodes = [
        MapNode(
            code=e.code,
            name=e.name,
            care_level=e.care_level,
            province=e.province,
            latitude=e.latitude,
            longitude=e.longitude,
            offers=e.offers(specialty),
        )
        for e in net.index.by_code.values()
        if e.is_open
    ]
    return PathwayMapOut(
        specialty=specialty,
        specialty_name=pathway_map.specialty_name(specialty),
        period_start=start,
        period_end=end,
        map_version=_version_out(version),
        nodes=nodes,
        designated=designated,
        flows=sorted(
            (
                FlowEdge(source=s, destination=d, referrals=v[0], along_map=v[1], outside_map=v[2])
                for (s, d), v in flows.items()
            ),
            key=lambda f: (-f.referrals, f.source, f.destination),
        ),
        levels=sorted(
            (LevelFlow(from_level=a, to_level=b, referrals=n) for (a, b), n in levels.items()),
            key=lambda lf: (lf.from_level, lf.to_level),
        ),
        bypass=_bypass_out(bypasses(session, net, specialty, start, end)),
    )


def export_map_rows(session: Session, specialty: str | None = None) -> Iterator[dict[str, Any]]:
    """The designated network, one row per (specialty, source) with last year's volume."""
    net = network.load(session)
    version = current_map(session)
    start, end = default_period()
    specialties = [specialty] if specialty else sorted(pathway_map.SPECIALTY_NAMES)
    for spec in specialties:
        volume: dict[tuple[str, str], int] = defaultdict(int)
        for g in _referral_groups(session, spec, start, end):
            if not g.redirected:
                volume[(g.source, g.destination)] += g.count
        for edge in pathway_map.map_edges(spec, version, net.index):
            yield {
                "specialty": spec,
                "source": edge.source,
                "source_level": net.level(edge.source),
                "destination": edge.destination,
                "destination_level": net.level(edge.destination),
                "rule": edge.rule.value,
                "distance_km": "" if edge.distance_km is None else f"{edge.distance_km:.1f}",
                "map_version": version.number,
                "referrals_12_months": volume.get((edge.source, edge.destination), 0),
            }


__all__ = [
    "amend_map",
    "census",
    "create_referral",
    "current_map",
    "discharge",
    "draw_map",
    "expire_overdue",
    "get_referral",
    "inbox",
    "record_encounter",
    "route",
    "timeline",
    "transition",
]
