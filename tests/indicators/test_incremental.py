"""Incremental refreshes between random inserts end where a full rebuild does (Hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from parcours.indicators import service
from parcours.indicators.models import (
    IndicatorCell,
    IndicatorOpenStay,
    IndicatorWatermark,
)
from parcours.pathways.models import Encounter, ReferralEvent
from tests.indicators.support import T0, Facts

PLACES = ["CHU-TNG", "HP-TET-01", "CSU-TNG-01", "CSR-TET-01"]
# what may follow a sent referral (each step: action, state reached)
PLANS = [
    [],
    [("accept", "accepted")],
    [("refuse", "refused")],
    [("redirect", "redirected")],
    [("expire", "expired")],
    [("accept", "accepted"), ("schedule", "appointment_scheduled")],
    [("accept", "accepted"), ("schedule", "appointment_scheduled"),
     ("schedule", "appointment_scheduled"), ("arrive", "patient_arrived")],
    [("accept", "accepted"), ("schedule", "appointment_scheduled"),
     ("arrive", "patient_arrived"), ("complete", "completed")],
]  # fmt: skip

referrals = st.tuples(
    st.just("referral"),
    st.sampled_from(PLACES),
    st.sampled_from(PLACES),
    st.sampled_from(["cardiology", "paediatrics"]),
    st.sampled_from(["urgent", "priority", "routine"]),
    st.integers(0, 90 * 24),  # hours after T0 it was sent
    st.sampled_from(range(len(PLANS))),
    st.lists(st.integers(1, 400), min_size=4, max_size=4),  # hours between steps
    st.one_of(st.none(), st.sampled_from(PLACES)),
)
encounters = st.tuples(
    st.just("encounter"),
    st.sampled_from(PLACES),
    st.sampled_from(["emergency", "admission", "consultation"]),
    st.integers(0, 90 * 24),
    st.one_of(st.none(), st.integers(1, 40 * 24)),  # hours of stay, None: still open
    st.booleans(),
)
operations = st.lists(
    st.one_of(
        referrals,
        encounters,
        st.tuples(st.just("advance"), st.integers(0, 50)),
        st.tuples(st.just("discharge"), st.integers(0, 50), st.integers(1, 60 * 24)),
        st.tuples(st.just("refresh")),
    ),
    min_size=1,
    max_size=25,
)


def _cells(db: Session) -> list[tuple[Any, ...]]:
    rows = db.execute(
        select(
            IndicatorCell.measure,
            IndicatorCell.establishment,
            IndicatorCell.month,
            IndicatorCell.dim,
            IndicatorCell.bucket,
            IndicatorCell.n,
            IndicatorCell.total,
        ).order_by(
            IndicatorCell.measure,
            IndicatorCell.establishment,
            IndicatorCell.month,
            IndicatorCell.dim,
            IndicatorCell.bucket,
        )
    ).all()
    return [tuple(r) for r in rows]


def _clean(db: Session) -> None:
    """Forget the aggregates; the source rows of earlier examples stay (append-only)."""
    for model in (IndicatorCell, IndicatorOpenStay, IndicatorWatermark):
        db.execute(delete(model))
    db.commit()


@pytest.mark.usefixtures("small_region")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_incremental_refreshes_equal_a_full_rebuild(db: Session, ops: list[Any]) -> None:
    _clean(db)
    facts = Facts(db)
    # referral id → (sent_at, the plan's steps still to write, versions written, gaps)
    live: list[list[Any]] = []
    stays: list[int] = []
    for op in ops:
        kind = op[0]
        if kind == "referral":
            _, source, dest, specialty, priority, hours, plan, gaps, designated = op
            sent = T0 + timedelta(hours=hours)
            rid = facts.referral(
                source=source,
                destination=dest,
                specialty=specialty,
                priority=priority,
                sent_at=sent,
                designated=designated,
            )
            live.append([rid, sent, list(PLANS[plan]), 1, list(gaps), "sent"])
        elif kind == "advance" and live:
            entry = live[op[1] % len(live)]
            rid, sent, plan, version, gaps, state = entry
            if not plan:
                continue
            action, to_state = plan.pop(0)
            at = sent + timedelta(hours=sum(gaps[:version]))
            appointment = at + timedelta(days=3) if action == "schedule" else None
            db.add(ReferralEvent(referral_id=rid, version=version + 1, action=action,
                                 from_state=state, to_state=to_state, at=at, by="t",
                                 side="receiving", appointment_at=appointment))  # fmt: skip
            entry[3], entry[5] = version + 1, to_state
            db.commit()
        elif kind == "encounter":
            _, place, enc_kind, hours, stay, referred = op
            start = T0 + timedelta(hours=hours)
            end = start + timedelta(hours=stay) if stay is not None else None
            referral = live[0][0] if referred and live else None
            eid = facts.encounter(place, enc_kind, start, end, referral_id=referral)
            if end is None:
                stays.append(eid)
            db.commit()
        elif kind == "discharge" and stays:
            eid = stays.pop(op[1] % len(stays))
            row = db.get(Encounter, eid)
            assert row is not None
            facts.discharge(eid, row.start_at + timedelta(hours=op[2]))
            db.commit()
        elif kind == "refresh":
            service.refresh(db, batch=3)
    db.commit()
    service.refresh(db, batch=3)
    incremental = _cells(db)
    service.refresh(db, full=True)
    assert _cells(db) == incremental
