"""Every state × every action × every side, against a table written out by hand.

The table below is the specification, typed independently of ``RULES``: if
either changes alone, this test fails.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from parcours.pathways.referral import (
    REFUSAL_MESSAGES,
    REFUSAL_STATUS,
    RULES,
    Action,
    Payload,
    ReferralState,
    Side,
    TransitionRefused,
)
from tests.pathways.referral_support import FULL_PAYLOAD, in_state, step
from tests.pathways.region import T0

# r = referring side, d = destination (receiving) side, b = both, s = system, . = nobody
TABLE = """
state                  send receive accept refuse redirect schedule arrive complete cancel expire
draft                   r    .       .      .      .        .        .      .        r      .
sent                    .    d       d      d      d        .        .      .        r      s
received                .    .       d      d      d        .        .      .        r      s
accepted                .    .       .      .      .        d        .      .        b      .
refused                 .    .       .      .      .        .        .      .        .      .
redirected              .    .       .      .      .        .        .      .        .      .
appointment_scheduled   .    .       .      .      .        d        d      .        b      .
patient_arrived         .    .       .      .      .        .        .      d        .      .
completed               .    .       .      .      .        .        .      .        .      .
cancelled               .    .       .      .      .        .        .      .        .      .
expired                 .    .       .      .      .        .        .      .        .      .
"""

LETTERS = {
    "r": {Side.REFERRING},
    "d": {Side.RECEIVING},
    "b": {Side.REFERRING, Side.RECEIVING},
    "s": {Side.SYSTEM},
    ".": set(),
}

TARGET = {
    Action.SEND: ReferralState.SENT,
    Action.RECEIVE: ReferralState.RECEIVED,
    Action.ACCEPT: ReferralState.ACCEPTED,
    Action.REFUSE: ReferralState.REFUSED,
    Action.REDIRECT: ReferralState.REDIRECTED,
    Action.SCHEDULE: ReferralState.APPOINTMENT_SCHEDULED,
    Action.ARRIVE: ReferralState.PATIENT_ARRIVED,
    Action.COMPLETE: ReferralState.COMPLETED,
    Action.CANCEL: ReferralState.CANCELLED,
    Action.EXPIRE: ReferralState.EXPIRED,
}


def _parse() -> dict[tuple[ReferralState, Action], set[Side]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    actions = [Action(a) for a in lines[0][1:]]
    table = {}
    for row in lines[1:]:
        state = ReferralState(row[0])
        for action, letter in zip(actions, row[1:], strict=True):
            table[(state, action)] = LETTERS[letter]
    return table


EXPECTED = _parse()
CASES = [(st, a, sd) for st in ReferralState for a in Action for sd in Side]
# Late enough for any deadline to have passed (expire is due), before the appointment.
LATER = T0 + timedelta(days=60)


def test_the_table_covers_every_state_and_action() -> None:
    assert set(EXPECTED) == {(s, a) for s in ReferralState for a in Action}


def test_rules_match_the_table() -> None:
    for (state, action), sides in EXPECTED.items():
        assert set(RULES[action].sides_from(state)) == sides, (state, action)
        assert RULES[action].target is TARGET[action]


@pytest.mark.parametrize(("state", "action", "side"), CASES, ids=lambda v: str(v))
def test_transition(state: ReferralState, action: Action, side: Side) -> None:
    snapshot = in_state(state)
    allowed = EXPECTED[(state, action)]
    if side in allowed:
        t = step(snapshot, action, side, LATER)
        assert t.snapshot.state is TARGET[action]
        assert t.snapshot.version == snapshot.version + 1
        assert (t.event.from_state, t.event.to_state) == (state, TARGET[action])
        assert (t.event.action, t.event.side, t.event.at) == (action, side, LATER)
        assert (t.spawned is not None) == (action is Action.REDIRECT)
        return
    with pytest.raises(TransitionRefused) as caught:
        step(snapshot, action, side, LATER)
    err = caught.value
    if state.is_terminal:
        assert err.code == "terminal_state"
        assert err.status_code == 409
    elif not allowed:
        assert err.code == "not_allowed_from_state"
        assert err.status_code == 409
    else:
        assert err.code == "side_not_allowed"
        assert err.status_code == 403
    assert err.render()  # the French message formats with its params


MISSING_INPUT = [
    (ReferralState.SENT, Action.REFUSE, Side.RECEIVING, Payload(), "reason_required"),
    (
        ReferralState.RECEIVED,
        Action.REFUSE,
        Side.RECEIVING,
        Payload(reason="  "),
        "reason_required",
    ),
    (ReferralState.DRAFT, Action.CANCEL, Side.REFERRING, Payload(), "reason_required"),
    (ReferralState.ACCEPTED, Action.CANCEL, Side.RECEIVING, Payload(), "reason_required"),
    (
        ReferralState.SENT,
        Action.REDIRECT,
        Side.RECEIVING,
        Payload(destination="HR-TNG"),
        "reason_required",
    ),
    (
        ReferralState.SENT,
        Action.REDIRECT,
        Side.RECEIVING,
        Payload(reason="pas de cardiologue"),
        "destination_required",
    ),
    (ReferralState.ACCEPTED, Action.SCHEDULE, Side.RECEIVING, Payload(), "appointment_required"),
    (
        ReferralState.ACCEPTED,
        Action.SCHEDULE,
        Side.RECEIVING,
        Payload(immediate=True, appointment_at=T0 + timedelta(days=90)),
        "appointment_conflicting",
    ),
    (
        ReferralState.ACCEPTED,
        Action.SCHEDULE,
        Side.RECEIVING,
        Payload(appointment_at=(T0 + timedelta(days=90)).replace(tzinfo=None)),
        "appointment_timezone_missing",
    ),
    (
        ReferralState.ACCEPTED,
        Action.SCHEDULE,
        Side.RECEIVING,
        Payload(appointment_at=LATER - timedelta(seconds=1)),
        "appointment_in_past",
    ),
    (
        ReferralState.PATIENT_ARRIVED,
        Action.COMPLETE,
        Side.RECEIVING,
        Payload(),
        "counter_referral_required",
    ),
    (
        ReferralState.PATIENT_ARRIVED,
        Action.COMPLETE,
        Side.RECEIVING,
        Payload(counter_referral="\n "),
        "counter_referral_required",
    ),
    (
        ReferralState.SENT,
        Action.REDIRECT,
        Side.RECEIVING,
        Payload(reason="x", destination="hp-hoc"),
        "redirect_to_same",
    ),
    (
        ReferralState.SENT,
        Action.REDIRECT,
        Side.RECEIVING,
        Payload(reason="x", destination="CSR-HOC-01"),
        "redirect_to_source",
    ),
]


@pytest.mark.parametrize(("state", "action", "side", "payload", "code"), MISSING_INPUT)
def test_refused_inputs(
    state: ReferralState, action: Action, side: Side, payload: Payload, code: str
) -> None:
    snapshot = in_state(state)
    with pytest.raises(TransitionRefused) as caught:
        step(snapshot, action, side, LATER, payload)
    assert caught.value.code == code
    assert caught.value.status_code == 422
    assert caught.value.render()


def test_every_refusal_code_has_a_message_and_statuses_are_known() -> None:
    assert set(REFUSAL_STATUS) <= set(REFUSAL_MESSAGES)
    assert set(REFUSAL_STATUS.values()) <= {403, 422}


def test_full_payload_is_accepted_wherever_inputs_are_required() -> None:
    # The table test relies on FULL_PAYLOAD satisfying every action it allows.
    snapshot = in_state(ReferralState.ACCEPTED)
    t = step(snapshot, Action.SCHEDULE, Side.RECEIVING, LATER, FULL_PAYLOAD)
    assert t.snapshot.appointment_at == FULL_PAYLOAD.appointment_at
