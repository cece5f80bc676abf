"""What the workforce publishes for aggregation: mobility decisions, staffing and headcounts.

Mobility events are append-only with increasing ids (read after a watermark);
staffing against the norms and headcounts are states at a date, computed
here by the workforce's own gap report and assignment periods, never copied.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcours.access.rules import system_principal
from parcours.workforce import service
from parcours.workforce.models import Assignment, MobilityEvent, MobilityRequest, Professional
from parcours.workforce.rules import Category, MobilityState

DECISIONS = frozenset({MobilityState.APPROVED.value, MobilityState.REJECTED.value})
CHUNK = 500


@dataclass(frozen=True)
class MobilityEventFact:
    """One step of a mobility request; ``decision`` when it approves or rejects it."""

    event_id: int
    request_id: int
    to_state: str
    at: datetime
    submitted_at: datetime
    to_establishment: str

    @property
    def decision(self) -> bool:
        return self.to_state in DECISIONS


def mobility_events_after(
    session: Session, after_id: int, limit: int = 20_000
) -> list[MobilityEventFact]:
    query = select(
        MobilityEvent.id,
        MobilityEvent.request_id,
        MobilityEvent.to_state,
        MobilityEvent.at,
        MobilityRequest.submitted_at,
        MobilityRequest.to_establishment,
    ).join(MobilityRequest, MobilityRequest.id == MobilityEvent.request_id)
    rows = session.execute(
        query.where(MobilityEvent.id > after_id).order_by(MobilityEvent.id).limit(limit)
    ).all()
    return [MobilityEventFact(*r) for r in rows]


def mobility_events_by_ids(session: Session, ids: Sequence[int]) -> list[MobilityEventFact]:
    query = select(
        MobilityEvent.id,
        MobilityEvent.request_id,
        MobilityEvent.to_state,
        MobilityEvent.at,
        MobilityRequest.submitted_at,
        MobilityRequest.to_establishment,
    ).join(MobilityRequest, MobilityRequest.id == MobilityEvent.request_id)
    out: list[MobilityEventFact] = []
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(query.where(MobilityEvent.id.in_(ids[i : i + CHUNK]))).all()
        out += [MobilityEventFact(*r) for r in rows]
    return sorted(out, key=lambda f: f.event_id)


@dataclass(frozen=True)
class StaffingFact:
    """Full-time equivalents required by the norms and present on their lines, on a day."""

    establishment: str
    required: float
    present: float


def staffing(session: Session, day: date) -> list[StaffingFact]:
    """Required and present FTE by establishment on the lines the norms set, on a day.

    Staff on lines without a norm (an administrator where only clinicians are
    normed) are a surplus of the gap report, not a coverage of the norms: left
    out here. Empty when no norms are published.
    """
    from parcours.errors import NotFound

    try:
        report = service.gap_report(session, system_principal("indicators"), as_of=day)
    except NotFound:
        return []
    required: dict[str, float] = defaultdict(float)
    present: dict[str, float] = defaultdict(float)
    for line in report.lines:
        if line.required > 0:
            required[line.establishment] += line.required
            present[line.establishment] += line.present
    return [StaffingFact(code, required[code], present[code]) for code in sorted(required)]


def health_workers(session: Session, day: date) -> dict[str, int]:
    """Physicians, nurses and midwives at work on a day, each at their main establishment.

    The main assignment is the largest share (then the oldest), as on the
    professional's file, so that a region's total counts each person once.
    """
    groups = [c.value for c in Category if c.density_group]
    rows = session.execute(
        select(
            Assignment.professional_id,
            Assignment.establishment_code,
            Assignment.share,
            Assignment.start_on,
        )
        .join(Professional, Professional.id == Assignment.professional_id)
        .where(
            Professional.category.in_(groups),
            Assignment.start_on <= day,
            (Assignment.end_on.is_(None)) | (Assignment.end_on >= day),
        )
    ).all()
    best: dict[int, tuple[int, date, str]] = {}
    for pid, code, share, start in rows:
        key = (-int(share), start, str(code))
        if pid not in best or key < best[pid]:
            best[pid] = key
    return dict(Counter(v[2] for v in best.values()))
