"""Bulk loads of care activity: many encounters and referrals at once.

For the demo's history and the benchmark, where going through the use cases
one call at a time would take hours. What is written is what the use cases
would have left, only faster:

- a referral is given as a *script* (who refers whom to where, then each step
  with its time, side and inputs); its history is produced by the pure state
  machine (:func:`referral.new_referral`, then :func:`referral.apply` step by
  step), the map's designation stamped with the map version as
  ``service.create_referral`` does, and a redirect spawns its child referral
  (``Transition.spawned``: ``parent_id``, ``root_id``, the chain) to which the
  following steps apply. A script the machine refuses stops the load
  (:class:`ScriptRefused`): nothing is stored that the machine would not allow;
- a referral whose patient arrived gets its encounter at the destination, tied
  to it, as ``service._arrival_encounter`` makes it (a stay in the requested
  service for a bed request, else a consultation in the specialty); the script
  may give the stay's discharge;
- encounters are checked as ``service.record_encounter`` checks them (known
  kind and service, offered by the establishment, dates, ICD-10 format);
  admissions without an end stay open, and the census is recounted from the
  open stays at the end (``service.rebuild_census``). An open stay admitted
  when its service was already full is marked in overflow, as the admission
  desk would have had to.

Rows go in with reserved ids through :mod:`parcours.bulk_store` (``COPY`` on
PostgreSQL, ``executemany`` on SQLite), one transaction per batch with one
audit entry giving its counts (``pathways.load``), as ``patients.service
.load_records`` does. A load is not idempotent: run it once (the demo's step
marker sees to that).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import system_principal
from parcours.bulk_store import bulk_insert, reserve_ids
from parcours.pathways import encounter as census_rules
from parcours.pathways import icd10, network, pathway_map, service
from parcours.pathways import referral as machine
from parcours.pathways.encounter import DischargeMode, EncounterKind
from parcours.pathways.models import (
    BedCensus,
    Encounter,
    EncounterDiagnosis,
    Referral,
    ReferralEvent,
)
from parcours.pathways.referral import (
    Action,
    Payload,
    Priority,
    ReferralSnapshot,
    Side,
    TransitionRefused,
)
from parcours.pathways.rows import SNAPSHOT_COLUMNS, snapshot_columns

ACTOR = "system:pathways-load"
AUDIT_ACTION = "pathways.load"
#: Scripts per transaction; encounters per transaction.
REFERRAL_BATCH = 5_000
ENCOUNTER_BATCH = 20_000


# --- what a caller gives ---------------------------------------------------------------


class StepSpec(Protocol):
    """One move of a referral's script."""

    @property
    def action(self) -> Action: ...
    @property
    def at(self) -> datetime: ...
    @property
    def side(self) -> Side: ...
    @property
    def by(self) -> str: ...
    @property
    def payload(self) -> Payload: ...


class ReferralSpec(Protocol):
    """A referral as written at the referring establishment, and what happened to it.

    ``steps`` follow the creation (a draft at ``created_at``): usually SEND at the
    same instant, then the answers; steps after a REDIRECT apply to the referral
    the redirect creates. ``arrival_diagnoses`` go on the arrival encounter;
    ``stay_end`` (with ``stay_discharge_mode``) closes the stay of a bed request.
    """

    @property
    def record_id(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def specialty(self) -> str: ...
    @property
    def priority(self) -> Priority: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def by(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def clinical_summary(self) -> str | None: ...
    @property
    def referring_professional(self) -> str | None: ...
    @property
    def bed_request(self) -> bool: ...
    @property
    def bed_service(self) -> str | None: ...
    @property
    def steps(self) -> Sequence[StepSpec]: ...
    @property
    def arrival_diagnoses(self) -> Sequence[str]: ...
    @property
    def stay_end(self) -> datetime | None: ...
    @property
    def stay_discharge_mode(self) -> DischargeMode | None: ...


class EncounterSpec(Protocol):
    """A consultation, an emergency visit or a stay (no end: still in its bed)."""

    @property
    def record_id(self) -> int: ...
    @property
    def establishment(self) -> str: ...
    @property
    def kind(self) -> EncounterKind: ...
    @property
    def specialty(self) -> str | None: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime | None: ...
    @property
    def diagnoses(self) -> Sequence[str]: ...
    @property
    def discharge_mode(self) -> DischargeMode | None: ...
    @property
    def transfer_to(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def by(self) -> str: ...


@dataclass(frozen=True)
class Step:
    """A plain :class:`StepSpec`."""

    action: Action
    at: datetime
    side: Side
    by: str
    payload: Payload = machine.NO_PAYLOAD


@dataclass(frozen=True)
class ReferralScript:
    """A plain :class:`ReferralSpec`."""

    record_id: int
    source: str
    destination: str
    specialty: str
    priority: Priority
    created_at: datetime
    by: str
    reason: str
    steps: tuple[Step, ...] = ()
    clinical_summary: str | None = None
    referring_professional: str | None = None
    bed_request: bool = False
    bed_service: str | None = None
    arrival_diagnoses: tuple[str, ...] = ()
    stay_end: datetime | None = None
    stay_discharge_mode: DischargeMode | None = None


@dataclass(frozen=True)
class NewEncounter:
    """A plain :class:`EncounterSpec`."""

    record_id: int
    establishment: str
    kind: EncounterKind
    start_at: datetime
    by: str
    specialty: str | None = None
    end_at: datetime | None = None
    diagnoses: tuple[str, ...] = ()
    discharge_mode: DischargeMode | None = None
    transfer_to: str | None = None
    note: str | None = None


class ScriptRefused(ValueError):
    """A script or an encounter the rules do not allow; says which one and why."""


# --- playing a script through the machine ----------------------------------------------------


@dataclass(frozen=True)
class Played:
    """One referral row a script produces: its last snapshot and its whole history."""

    snapshot: ReferralSnapshot
    events: tuple[machine.ReferralEvent, ...]
    created_by: str


def redirects(spec: ReferralSpec) -> int:
    return sum(1 for s in spec.steps if s.action is Action.REDIRECT)


def play(
    spec: ReferralSpec,
    ids: Iterator[int],
    index: pathway_map.MapIndex,
    version: pathway_map.MapVersion,
    deadlines: Mapping[Priority, timedelta] = machine.DEFAULT_ANSWER_DEADLINES,
) -> list[Played]:
    """The referrals (the first, then one per redirect) and their histories.

    ``ids`` gives each referral its id in turn (1 + the number of redirects), so
    that a child knows its parent's and its root's. Raises
    :class:`TransitionRefused` where the machine refuses a step.
    """
    designation = pathway_map.designated_destination(spec.source, spec.specialty, version, index)
    created = machine.new_referral(
        source=spec.source,
        destination=spec.destination,
        specialty=spec.specialty,
        priority=spec.priority,
        now=spec.created_at,
        by=spec.by,
        bed_request=spec.bed_request,
        bed_service=spec.bed_service or (spec.specialty if spec.bed_request else None),
        map_version=version.number,
        designated_destination=designation.destination if designation else None,
    )
    current = replace(created.snapshot, id=next(ids))
    events = [created.event]
    created_by = spec.by
    out: list[Played] = []
    for step in spec.steps:
        moved = machine.apply(
            current, step.action, step.side, step.at, step.payload, by=step.by, deadlines=deadlines
        )
        events.append(moved.event)
        current = moved.snapshot
        if moved.spawned is not None and moved.spawned_event is not None:
            out.append(Played(current, tuple(events), created_by))
            current = replace(moved.spawned, id=next(ids))
            events = [moved.spawned_event]
            created_by = step.by
    out.append(Played(current, tuple(events), created_by))
    return out


# --- rows ------------------------------------------------------------------------------------

_REFERRAL_COLUMNS = (
    "id",
    "record_id",
    "source",
    "destination",
    "specialty",
    "priority",
    "referring_professional",
    "reason",
    "clinical_summary",
    "attachments",
    "bed_request",
    "bed_service",
    "map_version",
    "designated_destination",
    "parent_id",
    "root_id",
    "chain",
    "created_at",
    "created_by",
    *SNAPSHOT_COLUMNS,
)
_EVENT_COLUMNS = (
    "referral_id",
    "version",
    "action",
    "from_state",
    "to_state",
    "at",
    "by",
    "side",
    "reason",
    "destination",
    "appointment_at",
    "immediate",
    "related_id",
)
_ENCOUNTER_COLUMNS = (
    "id",
    "record_id",
    "establishment_code",
    "kind",
    "status",
    "specialty",
    "bed_label",
    "start_at",
    "end_at",
    "discharge_mode",
    "transfer_to",
    "referral_id",
    "overflow",
    "note",
    "created_at",
    "created_by",
    "discharged_by",
    "version",
)
_DIAGNOSIS_COLUMNS = ("encounter_id", "rank", "code", "known")


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _referral_row(
    played: Played, spec: ReferralSpec, referring_professional: str
) -> tuple[Any, ...]:
    s = played.snapshot
    columns = snapshot_columns(s)
    return (
        s.id,
        spec.record_id,
        s.source,
        s.destination,
        s.specialty,
        s.priority.value,
        referring_professional,
        spec.reason.strip(),
        (spec.clinical_summary or "").strip() or None,
        [],
        s.bed_request,
        s.bed_service,
        s.map_version,
        s.designated_destination,
        s.parent_id,
        s.root_id,
        ">".join(s.chain),
        s.created_at,
        played.created_by,
        *(columns[name] for name in SNAPSHOT_COLUMNS),
    )


def _event_row(referral_id: int, e: machine.ReferralEvent) -> tuple[Any, ...]:
    return (
        referral_id,
        e.version,
        e.action.value if e.action else None,
        e.from_state.value if e.from_state else None,
        e.to_state.value,
        e.at,
        e.by,
        e.side.value,
        e.reason,
        e.destination,
        e.appointment_at,
        e.immediate,
        e.related_id,
    )


class _Diagnoses:
    """ICD-10 codes normalised once each (a load repeats a few hundred codes)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, bool]] = {}

    def __call__(self, codes: Sequence[str], where: str) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        for typed in codes:
            found = self._seen.get(typed)
            if found is None:
                check = icd10.check_code(typed)
                if not check.valid or check.code is None:
                    raise ScriptRefused(f"{where}: {check.message}")
                found = self._seen[typed] = (check.code, check.known)
            if found[0] not in [c for c, _ in out]:
                out.append(found)
        return out


@dataclass
class LoadReport:
    """What a load wrote."""

    encounters: int = 0  # every encounter, arrivals included
    arrivals: int = 0  # encounters opened by a referral's arrival
    diagnoses: int = 0
    referrals: int = 0  # rows: scripts plus one per redirect
    redirects: int = 0
    events: int = 0
    open_stays: int = 0  # of this load, at its end
    overflow: int = 0
    census: int = 0  # open stays counted in the census after the load (all of them)
    by_state: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Stay:
    start: datetime
    establishment: str
    specialty: str
    key: tuple[str, int]  # ("e", encounter position) or ("r", script position)


def _open_stays(
    encounters: Sequence[EncounterSpec], referrals: Sequence[ReferralSpec]
) -> list[_Stay]:
    stays: list[_Stay] = []
    for i, enc in enumerate(encounters):
        if enc.kind is EncounterKind.ADMISSION and enc.end_at is None and enc.specialty:
            stays.append(_Stay(enc.start_at, enc.establishment, enc.specialty, ("e", i)))
    for i, spec in enumerate(referrals):
        if not spec.bed_request or spec.stay_end is not None:
            continue
        arrive = [s for s in spec.steps if s.action is Action.ARRIVE]
        if arrive:
            destination = spec.destination
            for s in spec.steps:  # the patient arrives where the last redirect sent them
                if s.action is Action.REDIRECT and s.payload.destination:
                    destination = s.payload.destination
            stays.append(
                _Stay(
                    arrive[-1].at,
                    destination,
                    spec.bed_service or spec.specialty,
                    ("r", i),
                )
            )
    return stays


def _overflowing(
    session: Session, net: network.Network, stays: Sequence[_Stay]
) -> set[tuple[str, int]]:
    """The open stays admitted once their service's declared beds were all taken."""
    taken: Counter[tuple[str, str]] = Counter()
    for code, spec, occupied in session.execute(
        select(BedCensus.establishment_code, BedCensus.specialty, BedCensus.occupied)
    ):
        taken[(code, spec)] = int(occupied)
    out: set[tuple[str, int]] = set()
    for stay in sorted(stays, key=lambda s: (s.start, s.key)):
        est = net.index.get(stay.establishment)
        declared = est.beds(stay.specialty) if est else 0
        where = (stay.establishment, stay.specialty)
        if taken[where] >= declared:
            out.add(stay.key)
        taken[where] += 1
    return out


def _check_encounter(
    net: network.Network, enc: EncounterSpec, where: str, diagnoses: _Diagnoses
) -> list[tuple[str, bool]]:
    est = net.index.get(enc.establishment)
    if est is None:
        raise ScriptRefused(f"{where}: établissement inconnu {enc.establishment}")
    discharged = enc.kind is EncounterKind.ADMISSION and enc.end_at is not None
    problems = census_rules.validate_encounter(
        kind=EncounterKind.DISCHARGE if discharged else enc.kind,
        start=enc.start_at,
        end=enc.end_at,
        specialty=enc.specialty,
        discharge_mode=enc.discharge_mode if discharged else None,
        transfer_to=enc.transfer_to,
        diagnoses=(),
    )
    if enc.discharge_mode is not None and not discharged:
        problems.append("seule une sortie d'hospitalisation a un mode de sortie")
    if enc.specialty and not est.offers(enc.specialty):
        problems.append(f"{enc.establishment} n'offre pas le service {enc.specialty}")
    if problems:
        raise ScriptRefused(f"{where}: " + " ; ".join(problems))
    return diagnoses(enc.diagnoses, where)


def _encounter_row(
    enc_id: int,
    enc: EncounterSpec,
    *,
    referral_id: int | None = None,
    overflow: bool = False,
) -> tuple[Any, ...]:
    stay = enc.kind is EncounterKind.ADMISSION
    discharged = stay and enc.end_at is not None
    return (
        enc_id,
        enc.record_id,
        enc.establishment,
        enc.kind.value,
        service.OPEN if stay and not discharged else service.FINISHED,
        enc.specialty,
        None,
        enc.start_at,
        enc.end_at if stay else (enc.end_at or enc.start_at),
        enc.discharge_mode.value if discharged and enc.discharge_mode else None,
        enc.transfer_to,
        referral_id,
        overflow,
        (enc.note or "").strip() or None,
        enc.start_at,
        enc.by,
        enc.by if discharged else None,
        2 if discharged else 1,  # admitted, then discharged
    )


def _arrival(spec: ReferralSpec, last: Played) -> NewEncounter | None:
    """The encounter ``service._arrival_encounter`` opens when the patient arrives."""
    s = last.snapshot
    if s.arrived_at is None:
        return None
    by = next(
        (e.by for e in reversed(last.events) if e.action is Action.ARRIVE), spec.by
    )  # who registered the arrival
    if s.bed_request:
        return NewEncounter(
            record_id=spec.record_id,
            establishment=s.destination,
            kind=EncounterKind.ADMISSION,
            specialty=s.bed_service or s.specialty,
            start_at=s.arrived_at,
            end_at=spec.stay_end,
            discharge_mode=(spec.stay_discharge_mode or DischargeMode.HOME)
            if spec.stay_end is not None
            else None,
            diagnoses=tuple(spec.arrival_diagnoses),
            by=by,
        )
    return NewEncounter(
        record_id=spec.record_id,
        establishment=s.destination,
        kind=EncounterKind.CONSULTATION,
        specialty=s.specialty,
        start_at=s.arrived_at,
        end_at=s.arrived_at,
        diagnoses=tuple(spec.arrival_diagnoses),
        by=by,
    )


# --- the load --------------------------------------------------------------------------------


def load(
    session: Session,
    encounters: Sequence[EncounterSpec] = (),
    referrals: Sequence[ReferralSpec] = (),
    *,
    actor: str = ACTOR,
    version: pathway_map.MapVersion | None = None,
    deadlines: Mapping[Priority, timedelta] | None = None,
    commit: bool = True,
    progress: Callable[[int], None] | None = None,
    referral_batch: int = REFERRAL_BATCH,
    encounter_batch: int = ENCOUNTER_BATCH,
) -> LoadReport:
    """Write ``referrals`` (with their histories and arrivals), then ``encounters``.

    Each batch is one transaction with its audit entry (``commit=False`` leaves
    everything to the caller's transaction, as the demo step does with its
    marker). The census is recounted at the end, and PostgreSQL's statistics
    refreshed when the load commits. ``progress`` is told how many
    scripts or encounters each batch wrote. Raises :class:`ScriptRefused` on
    the first script or encounter the rules refuse (the batch is rolled back).
    """
    net = network.load(session)
    version = version or service.current_map(session)
    deadlines = deadlines or service.deadlines()
    principal = system_principal("pathways")
    diagnoses = _Diagnoses()
    report = LoadReport()
    states: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    stays = _open_stays(encounters, referrals)
    overflow = _overflowing(session, net, stays)

    def finish(counts: dict[str, int]) -> None:
        audit.record(
            session, principal, AUDIT_ACTION, "pathways", None, actor=actor, details=counts
        )
        if commit:
            session.commit()
        else:
            session.flush()

    try:
        for start in range(0, len(referrals), referral_batch):
            part = referrals[start : start + referral_batch]
            counts = _load_referrals(
                session, net, part, start, version, deadlines, diagnoses, overflow, states, kinds
            )
            finish(counts)
            for key in ("referrals", "redirects", "events", "encounters", "diagnoses"):
                setattr(report, key, getattr(report, key) + counts[key])
            report.arrivals += counts["encounters"]
            if progress:
                progress(len(part))
        for start in range(0, len(encounters), encounter_batch):
            part_e = encounters[start : start + encounter_batch]
            counts = _load_encounters(session, net, part_e, start, diagnoses, overflow, kinds)
            finish(counts)
            report.encounters += counts["encounters"]
            report.diagnoses += counts["diagnoses"]
            if progress:
                progress(len(part_e))
        report.census = service.rebuild_census(session)
        if commit:
            session.commit()
            _refresh_statistics(session)
        else:
            session.flush()
    except Exception:
        session.rollback()
        raise
    report.open_stays = len(stays)
    report.overflow = len(overflow)
    report.by_state = dict(sorted(states.items()))
    report.by_kind = dict(sorted(kinds.items()))
    return report


def _load_referrals(
    session: Session,
    net: network.Network,
    specs: Sequence[ReferralSpec],
    offset: int,
    version: pathway_map.MapVersion,
    deadlines: Mapping[Priority, timedelta],
    diagnoses: _Diagnoses,
    overflow: set[tuple[str, int]],
    states: Counter[str],
    kinds: Counter[str],
) -> dict[str, int]:
    total = sum(1 + redirects(s) for s in specs)
    ids = iter(reserve_ids(session, _table(Referral), total))
    referral_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    arrivals: list[tuple[NewEncounter, int, bool]] = []
    for i, spec in enumerate(specs, start=offset):
        where = f"référence n° {i + 1} ({spec.source} → {spec.destination})"
        for code in (spec.source, spec.destination):
            est = net.index.get(code)
            if est is None or not est.is_open:
                raise ScriptRefused(f"{where}: établissement inconnu ou fermé {code}")
        try:
            played = play(spec, ids, net.index, version, deadlines)
        except TransitionRefused as exc:
            raise ScriptRefused(f"{where}: {exc}") from exc
        professional = (spec.referring_professional or "").strip() or spec.by
        for p in played:
            assert p.snapshot.id is not None
            referral_rows.append(_referral_row(p, spec, professional))
            event_rows += [_event_row(p.snapshot.id, e) for e in p.events]
            states[p.snapshot.state.value] += 1
        last = played[-1]
        arrival = _arrival(spec, last)
        if arrival is not None:
            assert last.snapshot.id is not None
            arrivals.append((arrival, last.snapshot.id, ("r", i) in overflow))
    bulk_insert(session, _table(Referral), _REFERRAL_COLUMNS, referral_rows)
    bulk_insert(session, _table(ReferralEvent), _EVENT_COLUMNS, event_rows)
    encounter_ids = reserve_ids(session, _table(Encounter), len(arrivals))
    encounter_rows: list[tuple[Any, ...]] = []
    diagnosis_rows: list[tuple[Any, ...]] = []
    for enc_id, (enc, referral_id, over) in zip(encounter_ids, arrivals, strict=True):
        codes = _check_encounter(net, enc, f"arrivée de la référence {referral_id}", diagnoses)
        encounter_rows.append(_encounter_row(enc_id, enc, referral_id=referral_id, overflow=over))
        diagnosis_rows += [(enc_id, rank, c, k) for rank, (c, k) in enumerate(codes, start=1)]
        kinds[enc.kind.value] += 1
    bulk_insert(session, _table(Encounter), _ENCOUNTER_COLUMNS, encounter_rows)
    bulk_insert(session, _table(EncounterDiagnosis), _DIAGNOSIS_COLUMNS, diagnosis_rows)
    return {
        "scripts": len(specs),
        "referrals": len(referral_rows),
        "redirects": len(referral_rows) - len(specs),
        "events": len(event_rows),
        "encounters": len(encounter_rows),
        "diagnoses": len(diagnosis_rows),
    }


def _load_encounters(
    session: Session,
    net: network.Network,
    specs: Sequence[EncounterSpec],
    offset: int,
    diagnoses: _Diagnoses,
    overflow: set[tuple[str, int]],
    kinds: Counter[str],
) -> dict[str, int]:
    ids = reserve_ids(session, _table(Encounter), len(specs))
    encounter_rows: list[tuple[Any, ...]] = []
    diagnosis_rows: list[tuple[Any, ...]] = []
    for i, (enc_id, enc) in enumerate(zip(ids, specs, strict=True), start=offset):
        codes = _check_encounter(net, enc, f"rencontre n° {i + 1} ({enc.establishment})", diagnoses)
        encounter_rows.append(_encounter_row(enc_id, enc, overflow=("e", i) in overflow))
        diagnosis_rows += [(enc_id, rank, c, k) for rank, (c, k) in enumerate(codes, start=1)]
        kinds[enc.kind.value] += 1
    bulk_insert(session, _table(Encounter), _ENCOUNTER_COLUMNS, encounter_rows)
    bulk_insert(session, _table(EncounterDiagnosis), _DIAGNOSIS_COLUMNS, diagnosis_rows)
    return {"encounters": len(encounter_rows), "diagnoses": len(diagnosis_rows)}


def _refresh_statistics(session: Session) -> None:
    """After a load, PostgreSQL's planner gets fresh statistics at once (as the MPI's batch
    does): on estimates from before a million-row load, the inbox and timeline plans go
    wrong until autovacuum catches up. SQLite plans from its indexes alone."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("ANALYZE encounter, encounter_diagnosis, referral, referral_event"))
    session.commit()


def activity_counts(session: Session) -> dict[str, int]:
    """How many encounters and referrals are stored (the demo's guard reads it)."""
    return {
        "encounters": int(session.scalar(select(func.count()).select_from(Encounter)) or 0),
        "referrals": int(session.scalar(select(func.count()).select_from(Referral)) or 0),
    }


def open_stays_by_service(session: Session) -> dict[tuple[str, str], int]:
    """Open stays per (establishment, service), counted from the encounters themselves."""
    rows = session.execute(
        select(Encounter.establishment_code, Encounter.specialty, func.count())
        .where(Encounter.kind == EncounterKind.ADMISSION.value, Encounter.status == service.OPEN)
        .group_by(Encounter.establishment_code, Encounter.specialty)
    )
    out: dict[tuple[str, str], int] = defaultdict(int)
    for code, spec, n in rows:
        if spec is not None:
            out[(code, spec)] += int(n)
    return dict(out)


__all__ = [
    "ACTOR",
    "EncounterSpec",
    "LoadReport",
    "NewEncounter",
    "Played",
    "ReferralScript",
    "ReferralSpec",
    "ScriptRefused",
    "Step",
    "StepSpec",
    "activity_counts",
    "load",
    "open_stays_by_service",
    "play",
]
