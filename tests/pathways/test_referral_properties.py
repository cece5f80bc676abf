"""No sequence of actions, by anyone, at any time, with any inputs, breaks a referral.

Hypothesis drives random actors through the machine: wrong sides, missing
reasons, appointments in the past, stale versions, clocks at and around the
deadline. Whatever was refused leaves the referral untouched; whatever was
accepted must keep every invariant of :func:`check`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from parcours.pathways.referral import (
    DEFAULT_ANSWER_DEADLINES,
    NO_PAYLOAD,
    RULES,
    Action,
    Payload,
    Priority,
    ReferralEvent,
    ReferralSnapshot,
    ReferralState,
    Side,
    Transition,
    TransitionRefused,
    apply,
    history_problems,
    new_referral,
    timings,
)
from tests.pathways.referral_support import path_to
from tests.pathways.region import T0

S = ReferralState
REDIRECT_TARGETS = ("HR-TET", "HR-TNG", "CHU-TNG")
FORWARD = frozenset(
    {Action.SEND, Action.RECEIVE, Action.ACCEPT, Action.SCHEDULE, Action.ARRIVE, Action.COMPLETE}
)


def _payloads() -> list[Payload]:
    future = T0 + timedelta(days=30)
    past = T0 - timedelta(days=1)
    return [
        Payload(),
        Payload(reason="plateau technique insuffisant"),
        Payload(reason="   "),
        Payload(reason="pas de lit", destination="HR-TET"),
        Payload(reason="pas de lit", destination="hr-tng"),
        Payload(reason="retour", destination="CSR-HOC-01"),
        Payload(reason="même", destination="HP-HOC"),
        Payload(destination="CHU-TNG"),
        Payload(reason="x", destination=""),
        Payload(appointment_at=future),
        Payload(appointment_at=past),
        Payload(appointment_at=future.replace(tzinfo=None)),
        Payload(immediate=True),
        Payload(immediate=True, appointment_at=future),
        Payload(counter_referral="Compte rendu : traité, à revoir dans 3 mois."),
        Payload(counter_referral=" "),
    ]


PAYLOADS = _payloads()

# Steps are mostly small, sometimes days, sometimes exactly a deadline, or backwards.
GAPS = [
    timedelta(0),
    timedelta(seconds=-1),
    timedelta(minutes=5),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(days=1),
    timedelta(days=20),
    *DEFAULT_ANSWER_DEADLINES.values(),
]


@dataclass(frozen=True)
class Move:
    """One step of a script.

    Purely random moves almost never get a referral past "sent". A *lawful* move
    is the ``pick``-th move the machine allows from whatever state the referral
    is in when the step runs (two times out of three a forward one), with inputs
    that fit it; scripts stay plain data
    (cheap to generate and to shrink) while every state is reached. The other
    moves stay adversarial: any action, any side, any inputs.
    """

    lawful: bool
    pick: int
    action: Action
    side: Side
    after: timedelta  # from the previous step (negative: the clock goes back)
    payload: Payload
    stale: bool  # the caller saw an older version

    def resolve(self, state: ReferralState, now: datetime) -> tuple[Action, Side, Payload]:
        allowed = [(a, s) for a in Action for s in sorted(RULES[a].sides_from(state))]
        if not (self.lawful and allowed):
            return self.action, self.side, self.payload
        forward = [(a, s) for a, s in allowed if a in FORWARD]
        pool = forward if forward and self.pick < 8 else allowed  # mostly go forward
        action, side = pool[self.pick % len(pool)]
        fitting = Payload(
            reason="motif",
            destination=REDIRECT_TARGETS[self.pick % len(REDIRECT_TARGETS)],
            appointment_at=now + timedelta(days=self.pick),
            immediate=False,
            counter_referral="Compte rendu de fin de prise en charge.",
        )
        return action, side, fitting


moves = st.builds(
    Move,
    lawful=st.integers(0, 3).map(bool),
    pick=st.integers(0, 11),
    action=st.sampled_from(list(Action)),
    side=st.sampled_from(list(Side)),
    after=st.sampled_from(GAPS),
    payload=st.sampled_from(PAYLOADS),
    stale=st.integers(0, 9).map(lambda n: n == 0),
)


def check(snapshot: ReferralSnapshot, history: list[ReferralEvent]) -> None:
    """Every invariant of a referral and its history."""
    assert history_problems(history) == []
    assert snapshot.version == len(history)
    assert snapshot.version == history[-1].version
    assert snapshot.state is history[-1].to_state
    assert snapshot.last_event_at == history[-1].at
    visited = [e.to_state for e in history]

    # Answers are exclusive: never both accepted and refused (or redirected).
    assert len([s for s in visited if s in (S.ACCEPTED, S.REFUSED, S.REDIRECTED)]) <= 1
    if S.APPOINTMENT_SCHEDULED in visited:
        assert visited.index(S.ACCEPTED) < visited.index(S.APPOINTMENT_SCHEDULED)
    if S.PATIENT_ARRIVED in visited:
        assert visited.index(S.APPOINTMENT_SCHEDULED) < visited.index(S.PATIENT_ARRIVED)
    if snapshot.state is S.COMPLETED:
        assert (snapshot.counter_referral or "").strip()
        assert snapshot.arrived_at is not None
        assert snapshot.appointment_at is not None
        assert snapshot.answered_at is not None
    else:
        assert snapshot.counter_referral is None
    if snapshot.state in (S.REFUSED, S.CANCELLED, S.REDIRECTED):
        assert (snapshot.closing_reason or "").strip()
    if snapshot.state is S.REDIRECTED:
        assert snapshot.redirected_to not in (None, snapshot.destination, snapshot.source)
    if snapshot.state is S.EXPIRED:
        assert snapshot.answer_due_at is not None
        assert snapshot.closed_at is not None
        assert snapshot.closed_at >= snapshot.answer_due_at
    assert (snapshot.closed_at is not None) == snapshot.state.is_terminal

    # The deadline is the priority's, counted from the moment the referral was sent.
    if snapshot.sent_at is not None:
        due = snapshot.sent_at + DEFAULT_ANSWER_DEADLINES[snapshot.priority]
        assert snapshot.answer_due_at == due
        assert [e.action for e in history].count(Action.SEND) == 1
    else:
        assert visited in ([S.DRAFT], [S.DRAFT, S.CANCELLED])

    # Times move forward along the pathway.
    stamps = [
        snapshot.created_at,
        snapshot.sent_at,
        snapshot.answered_at,
        snapshot.scheduled_at,
        snapshot.arrived_at,
        snapshot.closed_at,
    ]
    known = [t for t in stamps if t is not None]
    assert known == sorted(known)
    if snapshot.appointment_at is not None:
        assert snapshot.scheduled_at is not None
        assert snapshot.appointment_at >= snapshot.scheduled_at

    facts = timings(history, snapshot.answer_due_at)
    assert facts.counter_referral_returned == (snapshot.state is S.COMPLETED)
    assert facts.expired == (snapshot.state is S.EXPIRED)
    for delta in (facts.time_to_answer, facts.time_to_arrival, facts.time_to_appointment):
        assert delta is None or delta >= timedelta(0)


def check_child(parent: ReferralSnapshot, t: Transition) -> None:
    """A redirect's new referral continues the chain of the one it replaces."""
    child, born = t.spawned, t.spawned_event
    assert child is not None
    assert born is not None
    assert (child.source, child.specialty) == (parent.source, parent.specialty)
    assert child.parent_id == parent.id
    assert child.root_id == (parent.root_id or parent.id)
    assert child.destination == parent.redirected_to
    assert child.chain == (*parent.chain, parent.redirected_to)
    assert len(set(child.chain)) == len(child.chain)
    assert parent.source not in child.chain
    assert (child.state, child.version) == (S.SENT, 1)
    assert child.map_version == parent.map_version
    assert history_problems([born]) == []


def attempt(
    snapshot: ReferralSnapshot,
    action: Action,
    side: Side,
    now: datetime,
    payload: Payload = NO_PAYLOAD,
    expected_version: int | None = None,
) -> Transition | TransitionRefused:
    try:
        return apply(
            snapshot, action, side, now, payload, by="someone", expected_version=expected_version
        )
    except TransitionRefused as refused:
        return refused


@settings(max_examples=200, deadline=None)
@given(
    priority=st.sampled_from(list(Priority)),
    bed_request=st.booleans(),
    script=st.lists(moves, min_size=1, max_size=30),
)
def test_no_sequence_of_actions_breaks_a_referral(
    priority: Priority, bed_request: bool, script: list[Move]
) -> None:
    created = new_referral(
        source="CSR-HOC-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=priority,
        now=T0,
        by="inf",
        bed_request=bed_request,
        bed_service="cardiology" if bed_request else None,
        map_version=1,
        designated_destination="HP-HOC",
    )
    snapshot = replace(created.snapshot, id=41)
    history = [created.event]
    now = T0
    for move in script:
        now = now + move.after
        action, side, payload = move.resolve(snapshot.state, now)
        expected = snapshot.version - 1 if move.stale else None
        outcome = attempt(snapshot, action, side, now, payload, expected)
        if isinstance(outcome, TransitionRefused):
            assert outcome.render()
            assert outcome.status_code in (403, 409, 422)
            if snapshot.state.is_terminal:
                assert outcome.code in ("terminal_state", "stale_version")
            continue
        assert not move.stale
        assert not snapshot.state.is_terminal
        assert outcome.snapshot.version == snapshot.version + 1
        snapshot = outcome.snapshot
        history.append(outcome.event)
        check(snapshot, history)
        if outcome.spawned is not None:
            check_child(snapshot, outcome)
    check(snapshot, history)
    event(f"final state: {snapshot.state}")

    # Terminal states absorb: nobody can do anything any more.
    if snapshot.state.is_terminal:
        for action in Action:
            for side in Side:
                outcome = attempt(snapshot, action, side, now + timedelta(days=365))
                assert isinstance(outcome, TransitionRefused)
                assert outcome.code == "terminal_state"


@settings(max_examples=200, deadline=None)
@given(
    state=st.sampled_from(list(ReferralState)),
    move=moves,
)
def test_any_move_from_any_state_keeps_the_invariants(state: ReferralState, move: Move) -> None:
    """The random walk rarely tries wrong inputs deep in a pathway: try them there."""
    snapshot, history = path_to(state)
    now = max(snapshot.last_event_at or T0, T0 + timedelta(days=20)) + move.after
    action, side, payload = move.resolve(state, now)
    if move.pick % 2:  # the right move with whatever inputs
        payload = move.payload
    outcome = attempt(snapshot, action, side, now, payload)
    event(f"{state} {action}: {'refused' if isinstance(outcome, TransitionRefused) else 'ok'}")
    if isinstance(outcome, TransitionRefused):
        assert outcome.status_code in (403, 409, 422)
        return
    check(outcome.snapshot, [*history, outcome.event])
    if outcome.spawned is not None:
        check_child(outcome.snapshot, outcome)


@settings(max_examples=100, deadline=None)
@given(
    priority=st.sampled_from(list(Priority)),
    sent_after=st.timedeltas(timedelta(0), timedelta(days=3)),
    probe=st.timedeltas(timedelta(days=-1), timedelta(days=1)),
)
def test_expiry_is_possible_from_the_deadline_and_not_a_second_before(
    priority: Priority, sent_after: timedelta, probe: timedelta
) -> None:
    created = new_referral(
        source="A1", destination="B1", specialty="cardiology", priority=priority, now=T0, by="x"
    )
    sent_at = T0 + sent_after
    sent = apply(created.snapshot, Action.SEND, Side.REFERRING, sent_at, by="x").snapshot
    due = sent_at + DEFAULT_ANSWER_DEADLINES[priority]
    at = max(due + probe, sent_at)
    outcome = attempt(sent, Action.EXPIRE, Side.SYSTEM, at)
    if at < due:
        assert isinstance(outcome, TransitionRefused)
        assert outcome.code == "not_yet_due"
    else:
        assert isinstance(outcome, Transition)
        assert outcome.snapshot.state is S.EXPIRED
