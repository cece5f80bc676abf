"""What the care pathways publish for aggregation: referral events and encounters as plain facts.

The indicators context never reads these tables itself; it asks here, by id
watermark: ``referral_event`` is append-only and encounters are inserted with
increasing ids, so "everything after id N" is exactly what is new. A stay's
discharge fills its encounter later (no new row): the caller keeps the ids of
the stays it saw open and asks :func:`encounters_by_ids` for them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from parcours.pathways.models import Encounter, Referral, ReferralEvent
from parcours.pathways.referral import ANSWER_STATES

_ANSWERS = sorted(s.value for s in ANSWER_STATES)
CHUNK = 500


@dataclass(frozen=True)
class ReferralEventFact:
    """One transition of a referral with what the aggregates need of its referral.

    ``first_answer`` / ``first_schedule``: no earlier event of the same referral
    reached an answer / fixed an appointment (reschedules count once).
    ``redirect`` is true for a referral spawned by a receiver's redirection.
    """

    event_id: int
    referral_id: int
    action: str | None
    to_state: str
    at: datetime
    appointment_at: datetime | None
    source: str
    destination: str
    specialty: str
    priority: str
    sent_at: datetime | None
    answer_due_at: datetime | None
    designated_destination: str | None
    redirect: bool
    first_answer: bool
    first_schedule: bool


def _referral_events() -> Any:
    earlier = aliased(ReferralEvent)
    prior_answer = exists().where(
        earlier.referral_id == ReferralEvent.referral_id,
        earlier.version < ReferralEvent.version,
        earlier.to_state.in_(_ANSWERS),
    )
    prior_schedule = exists().where(
        earlier.referral_id == ReferralEvent.referral_id,
        earlier.version < ReferralEvent.version,
        earlier.action == "schedule",
    )
    return select(
        ReferralEvent.id,
        ReferralEvent.referral_id,
        ReferralEvent.action,
        ReferralEvent.to_state,
        ReferralEvent.at,
        ReferralEvent.appointment_at,
        Referral.source,
        Referral.destination,
        Referral.specialty,
        Referral.priority,
        Referral.sent_at,
        Referral.answer_due_at,
        Referral.designated_destination,
        Referral.parent_id,
        # Only the events that need it pay for the look back.
        and_(ReferralEvent.to_state.in_(_ANSWERS), ~prior_answer),
        and_(ReferralEvent.action == "schedule", ~prior_schedule),
    ).join(Referral, Referral.id == ReferralEvent.referral_id)


def _referral_fact(row: Any) -> ReferralEventFact:
    (eid, rid, action, to_state, at, appt, source, destination, specialty, priority, sent_at,
     due, designated, parent, first_answer, first_schedule) = row  # fmt: skip
    return ReferralEventFact(
        event_id=int(eid),
        referral_id=int(rid),
        action=action,
        to_state=str(to_state),
        at=at,
        appointment_at=appt,
        source=str(source),
        destination=str(destination),
        specialty=str(specialty),
        priority=str(priority),
        sent_at=sent_at,
        answer_due_at=due,
        designated_destination=designated,
        redirect=parent is not None,
        first_answer=bool(first_answer),
        first_schedule=bool(first_schedule),
    )


def referral_events_after(
    session: Session, after_id: int, limit: int = 20_000
) -> list[ReferralEventFact]:
    """The next ``limit`` referral events after ``after_id``, in id order."""
    rows = session.execute(
        _referral_events()
        .where(ReferralEvent.id > after_id)
        .order_by(ReferralEvent.id)
        .limit(limit)
    ).all()
    return [_referral_fact(r) for r in rows]


def referral_events_by_ids(session: Session, ids: Sequence[int]) -> list[ReferralEventFact]:
    out: list[ReferralEventFact] = []
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            _referral_events().where(ReferralEvent.id.in_(ids[i : i + CHUNK]))
        ).all()
        out += [_referral_fact(r) for r in rows]
    return sorted(out, key=lambda f: f.event_id)


@dataclass(frozen=True)
class EncounterFact:
    """An encounter as the aggregates see it (no patient, no diagnosis)."""

    id: int
    establishment: str
    kind: str
    specialty: str | None
    start_at: datetime
    end_at: datetime | None
    via_referral: bool


def _encounters() -> Any:
    return select(
        Encounter.id,
        Encounter.establishment_code,
        Encounter.kind,
        Encounter.specialty,
        Encounter.start_at,
        Encounter.end_at,
        Encounter.referral_id,
    )


def _encounter_fact(row: Any) -> EncounterFact:
    eid, code, kind, specialty, start, end, referral = row
    return EncounterFact(
        id=int(eid),
        establishment=str(code),
        kind=str(kind),
        specialty=specialty,
        start_at=start,
        end_at=end,
        via_referral=referral is not None,
    )


def encounters_after(session: Session, after_id: int, limit: int = 20_000) -> list[EncounterFact]:
    """The next ``limit`` encounters after ``after_id``, in id order (every kind, so that the
    caller can tell an id never committed from one it does not count)."""
    rows = session.execute(
        _encounters().where(Encounter.id > after_id).order_by(Encounter.id).limit(limit)
    ).all()
    return [_encounter_fact(r) for r in rows]


def encounters_by_ids(session: Session, ids: Sequence[int]) -> list[EncounterFact]:
    out: list[EncounterFact] = []
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(_encounters().where(Encounter.id.in_(ids[i : i + CHUNK]))).all()
        out += [_encounter_fact(r) for r in rows]
    return sorted(out, key=lambda f: f.id)
