"""Facts written straight into the source contexts' tables, at chosen instants.

The indicators read only what the facts modules publish; these rows are what a
referral's history, a stay or a mobility request leave behind, with times set
by the test so that every expected value can be worked out by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy.orm import Session

from parcours.pathways.models import Encounter, Referral, ReferralEvent
from parcours.patients.models import PatientSourceRecord

T0 = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
_keys = count(1)


def at(day: int, hour: int = 0, month: int = 11, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


class Facts:
    """Writes referrals with their events, and encounters, for one test."""

    def __init__(self, db: Session) -> None:
        self.db = db
        key = next(_keys)
        record = PatientSourceRecord(
            record_key=f"test-{key}-{id(self)}",
            establishment_code="CSU-TNG-01",
            local_id=f"{key}-{id(self)}",
            registered_at=T0,
            registered_by="test",
        )
        db.add(record)
        db.flush()
        self.record_id = record.id

    def referral(
        self,
        *,
        source: str = "CSU-TNG-01",
        destination: str = "CHU-TNG",
        specialty: str = "cardiology",
        priority: str = "routine",
        sent_at: datetime = T0,
        due_hours: float | None = 72,
        designated: str | None = None,
        steps: list[tuple[str, str, float]] = (),  # type: ignore[assignment]
        appointment_days: float | None = None,
        parent_id: int | None = None,
    ) -> int:
        """A sent referral, then ``steps``: (action, to_state, hours after sending)."""
        due = sent_at + timedelta(hours=due_hours) if due_hours is not None else None
        row = Referral(
            record_id=self.record_id, source=source, destination=destination,
            specialty=specialty, priority=priority, state="sent", version=1, chain=destination,
            created_at=sent_at, created_by="test", sent_at=sent_at, answer_due_at=due,
            designated_destination=designated, parent_id=parent_id, attachments=[],
        )  # fmt: skip
        self.db.add(row)
        self.db.flush()
        self.db.add(
            ReferralEvent(referral_id=row.id, version=1, action=None, from_state=None,
                          to_state="sent", at=sent_at, by="test", side="referring")
        )  # fmt: skip
        state = "sent"
        for version, (action, to_state, hours) in enumerate(steps, start=2):
            appointment = None
            if action == "schedule" and appointment_days is not None:
                appointment = sent_at + timedelta(days=appointment_days)
            self.db.add(
                ReferralEvent(referral_id=row.id, version=version, action=action,
                              from_state=state, to_state=to_state,
                              at=sent_at + timedelta(hours=hours), by="test", side="receiving",
                              appointment_at=appointment)
            )  # fmt: skip
            state = to_state
        row.state = state
        row.version = len(steps) + 1
        self.db.flush()
        return row.id

    def encounter(
        self,
        establishment: str,
        kind: str,
        start: datetime,
        end: datetime | None,
        *,
        specialty: str | None = "cardiology",
        referral_id: int | None = None,
    ) -> int:
        row = Encounter(
            record_id=self.record_id, establishment_code=establishment, kind=kind,
            status="finished" if end else "in_progress", specialty=specialty, start_at=start,
            end_at=end, referral_id=referral_id, created_at=start, created_by="test",
        )  # fmt: skip
        self.db.add(row)
        self.db.flush()
        return row.id

    def discharge(self, encounter_id: int, end: datetime) -> None:
        row = self.db.get(Encounter, encounter_id)
        assert row is not None
        row.end_at = end
        row.status = "finished"
        self.db.flush()
