"""Builders of referrals in every state, through the machine itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from parcours.pathways.referral import (
    Action,
    Payload,
    Priority,
    ReferralEvent,
    ReferralSnapshot,
    ReferralState,
    Side,
    Transition,
    apply,
    new_referral,
)
from tests.pathways.region import T0

REF, RECV, SYS = Side.REFERRING, Side.RECEIVING, Side.SYSTEM

# Payloads that satisfy every action's inputs (the appointment is in the future of
# any ``now`` the tests use).
FULL_PAYLOAD = Payload(
    reason="motif",
    destination="HR-TNG",
    appointment_at=T0 + timedelta(days=400),
    counter_referral="Compte rendu : pose de stent, suivi au centre.",
)


def draft(
    priority: Priority = Priority.ROUTINE, *, at: datetime = T0, **kwargs: object
) -> ReferralSnapshot:
    t = new_referral(
        source="CSR-HOC-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=priority,
        now=at,
        by="infirmier.hoc",
        map_version=1,
        designated_destination="HP-HOC",
        **kwargs,  # type: ignore[arg-type]
    )
    return with_id(t.snapshot, 1)


def with_id(snapshot: ReferralSnapshot, id_: int) -> ReferralSnapshot:
    return replace(snapshot, id=id_)


def step(
    snapshot: ReferralSnapshot,
    action: Action,
    side: Side,
    at: datetime,
    payload: Payload = FULL_PAYLOAD,
) -> Transition:
    return apply(snapshot, action, side, at, payload, by=f"{side}.user")


# The path to each state, as (action, side, minutes after T0).
PATHS: dict[ReferralState, list[tuple[Action, Side, int]]] = {
    ReferralState.DRAFT: [],
    ReferralState.SENT: [(Action.SEND, REF, 1)],
    ReferralState.RECEIVED: [(Action.SEND, REF, 1), (Action.RECEIVE, RECV, 2)],
    ReferralState.ACCEPTED: [(Action.SEND, REF, 1), (Action.ACCEPT, RECV, 3)],
    ReferralState.REFUSED: [(Action.SEND, REF, 1), (Action.REFUSE, RECV, 3)],
    ReferralState.REDIRECTED: [(Action.SEND, REF, 1), (Action.REDIRECT, RECV, 3)],
    ReferralState.APPOINTMENT_SCHEDULED: [
        (Action.SEND, REF, 1),
        (Action.ACCEPT, RECV, 3),
        (Action.SCHEDULE, RECV, 4),
    ],
    ReferralState.PATIENT_ARRIVED: [
        (Action.SEND, REF, 1),
        (Action.ACCEPT, RECV, 3),
        (Action.SCHEDULE, RECV, 4),
        (Action.ARRIVE, RECV, 5),
    ],
    ReferralState.COMPLETED: [
        (Action.SEND, REF, 1),
        (Action.ACCEPT, RECV, 3),
        (Action.SCHEDULE, RECV, 4),
        (Action.ARRIVE, RECV, 5),
        (Action.COMPLETE, RECV, 6),
    ],
    ReferralState.CANCELLED: [(Action.CANCEL, REF, 1)],
    ReferralState.EXPIRED: [(Action.SEND, REF, 1), (Action.EXPIRE, SYS, 60 * 24 * 30)],
}


def path_to(state: ReferralState) -> tuple[ReferralSnapshot, list[ReferralEvent]]:
    """A referral brought to ``state`` through the machine, with its history."""
    created = new_referral(
        source="CSR-HOC-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=Priority.ROUTINE,
        now=T0,
        by="infirmier.hoc",
        map_version=1,
        designated_destination="HP-HOC",
    )
    snapshot = with_id(created.snapshot, 1)
    history = [created.event]
    for action, side, minutes in PATHS[state]:
        t = step(snapshot, action, side, T0 + timedelta(minutes=minutes))
        snapshot = t.snapshot
        history.append(t.event)
    assert snapshot.state is state
    return snapshot, history


def in_state(state: ReferralState) -> ReferralSnapshot:
    return path_to(state)[0]
