"""The referral machine's particular rules: deadlines, redirects, races, timings, sides."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from parcours.access.rules import Permission, Principal, Role, Scope, ScopeKind
from parcours.pathways.referral import (
    DEFAULT_ANSWER_DEADLINES,
    REPORT_DUE_AFTER,
    RULES,
    Action,
    DeadlineStatus,
    Payload,
    Priority,
    ReferralSnapshot,
    ReferralState,
    Side,
    TransitionRefused,
    acting_side,
    apply,
    available_actions,
    choose_side,
    deadline,
    deadline_status,
    deadlines_from_hours,
    history_problems,
    is_overdue,
    new_referral,
    sides_of,
    timings,
)
from tests.pathways.referral_support import FULL_PAYLOAD, RECV, REF, SYS, draft, in_state, step
from tests.pathways.region import T0

# --- vocabulary --------------------------------------------------------------


def test_every_enum_member_has_a_french_label_and_a_colour() -> None:
    for state in ReferralState:
        assert state.label
        assert state.colour.startswith("#")
        assert state.fhir_task_status
        assert state.fhir_request_status
    for p in Priority:
        assert p.label
        assert p.colour.startswith("#")
        assert p.fhir_code
    for a in Action:
        assert a.label
        assert a.rule.action is a
    for s in Side:
        assert s.label
        assert s.phrase


def test_default_deadlines() -> None:
    assert DEFAULT_ANSWER_DEADLINES[Priority.URGENT] == timedelta(hours=2)
    assert DEFAULT_ANSWER_DEADLINES[Priority.PRIORITY] == timedelta(hours=72)
    assert DEFAULT_ANSWER_DEADLINES[Priority.ROUTINE] == timedelta(days=15)
    assert deadline(Priority.URGENT, T0) == T0 + timedelta(hours=2)


def test_deadlines_can_be_overridden_per_priority() -> None:
    table = deadlines_from_hours(urgent=1, routine=24 * 30)
    assert table[Priority.URGENT] == timedelta(hours=1)
    assert table[Priority.PRIORITY] == timedelta(hours=72)
    assert table[Priority.ROUTINE] == timedelta(days=30)
    with pytest.raises(ValueError, match="positive"):
        deadlines_from_hours(priority=0)


def test_permissions_per_action() -> None:
    assert RULES[Action.EXPIRE].permission is None
    assert RULES[Action.ARRIVE].permission is Permission.PATIENT_WRITE
    assert RULES[Action.ACCEPT].permission is Permission.CLINICAL_WRITE


# --- creation ------------------------------------------------------------------


def test_new_referral_is_a_draft_with_its_creation_event() -> None:
    t = new_referral(
        source="csr-hoc-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=Priority.ROUTINE,
        now=T0,
        by="infirmier.hoc",
        map_version=1,
        designated_destination="HP-HOC",
    )
    assert t.snapshot.source == "CSR-HOC-01"
    assert (t.snapshot.state, t.snapshot.version) == (ReferralState.DRAFT, 1)
    assert t.snapshot.chain == ("HP-HOC",)
    assert t.snapshot.along_map is True
    assert (t.event.version, t.event.action, t.event.from_state) == (1, None, None)
    assert t.event.label == "Création"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"destination": "CSR-HOC-01"}, "same_establishment"),
        ({"specialty": "astrology"}, "unknown_specialty"),
        ({"bed_request": True}, "bed_service_required"),
        ({"bed_request": True, "bed_service": "spa"}, "unknown_bed_service"),
    ],
)
def test_new_referral_refusals(kwargs: dict[str, object], code: str) -> None:
    base: dict[str, object] = {
        "source": "CSR-HOC-01",
        "destination": "HP-HOC",
        "specialty": "cardiology",
        "priority": Priority.ROUTINE,
        "now": T0,
        "by": "x",
    }
    with pytest.raises(TransitionRefused) as caught:
        new_referral(**{**base, **kwargs})  # type: ignore[arg-type]
    assert caught.value.code == code
    assert caught.value.status_code == 422


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        apply(draft(), Action.SEND, REF, T0.replace(tzinfo=None), by="x")


# --- deadlines and expiry ----------------------------------------------------------


@pytest.mark.parametrize("priority", list(Priority))
def test_expiry_exactly_at_the_deadline(priority: Priority) -> None:
    sent_at = T0 + timedelta(minutes=7)
    sent = step(draft(priority), Action.SEND, REF, sent_at).snapshot
    due = sent_at + DEFAULT_ANSWER_DEADLINES[priority]
    assert sent.answer_due_at == due

    one_second_before = due - timedelta(seconds=1)
    assert not is_overdue(sent, one_second_before)
    with pytest.raises(TransitionRefused) as caught:
        step(sent, Action.EXPIRE, SYS, one_second_before)
    assert caught.value.code == "not_yet_due"
    assert caught.value.status_code == 409

    assert is_overdue(sent, due)
    expired = step(sent, Action.EXPIRE, SYS, due).snapshot
    assert expired.state is ReferralState.EXPIRED
    assert expired.closed_at == due


def test_expiry_from_received_and_deadline_clock_runs_from_sent() -> None:
    sent = step(draft(Priority.URGENT), Action.SEND, REF, T0).snapshot
    received = step(sent, Action.RECEIVE, RECV, T0 + timedelta(hours=1, minutes=59)).snapshot
    assert received.answer_due_at == T0 + timedelta(hours=2)  # receipt does not reset it
    assert step(received, Action.EXPIRE, SYS, T0 + timedelta(hours=2)).snapshot.state is (
        ReferralState.EXPIRED
    )


def test_deadline_stamped_at_send_survives_a_change_of_setting() -> None:
    sent = apply(
        draft(Priority.ROUTINE),
        Action.SEND,
        REF,
        T0,
        by="x",
        deadlines=deadlines_from_hours(routine=24),
    ).snapshot
    assert sent.answer_due_at == T0 + timedelta(hours=24)
    # Expiry reads the stamp, not the (default) table given now.
    assert step(sent, Action.EXPIRE, SYS, T0 + timedelta(hours=24)).snapshot.state is (
        ReferralState.EXPIRED
    )


def test_a_late_answer_is_still_taken_and_shows_late_in_timings() -> None:
    created = new_referral(
        source="CSR-HOC-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=Priority.URGENT,
        now=T0,
        by="inf",
    )
    sent = step(created.snapshot, Action.SEND, REF, T0)
    # The sweeper has not expired it yet: a late answer is better than none.
    accepted = step(sent.snapshot, Action.ACCEPT, RECV, T0 + timedelta(hours=3))
    assert accepted.snapshot.state is ReferralState.ACCEPTED
    assert accepted.snapshot.received_at == T0 + timedelta(hours=3)  # answer implies receipt
    facts = timings([created.event, sent.event, accepted.event], sent.snapshot.answer_due_at)
    assert facts.time_to_answer == timedelta(hours=3)
    assert facts.answered_in_time is False


def test_deadline_status_for_inboxes() -> None:
    sent = step(draft(Priority.URGENT), Action.SEND, REF, T0).snapshot
    assert deadline_status(sent, T0) is DeadlineStatus.ON_TIME
    assert deadline_status(sent, T0 + timedelta(minutes=90)) is DeadlineStatus.DUE_SOON
    assert deadline_status(sent, T0 + timedelta(hours=2)) is DeadlineStatus.OVERDUE
    accepted = step(sent, Action.ACCEPT, RECV, T0 + timedelta(hours=3)).snapshot
    assert deadline_status(accepted, T0 + timedelta(hours=5)) is DeadlineStatus.NONE
    assert not is_overdue(accepted, T0 + timedelta(days=9))


def test_a_counter_referral_awaited_a_month_after_arrival_is_flagged() -> None:
    arrived = in_state(ReferralState.PATIENT_ARRIVED)
    assert arrived.arrived_at is not None
    month = arrived.arrived_at + REPORT_DUE_AFTER
    assert deadline_status(arrived, month - timedelta(minutes=1)) is DeadlineStatus.NONE
    assert deadline_status(arrived, month) is DeadlineStatus.REPORT_OVERDUE
    completed = in_state(ReferralState.COMPLETED)
    assert deadline_status(completed, month + timedelta(days=90)) is DeadlineStatus.NONE


def test_time_cannot_go_backwards() -> None:
    sent = step(draft(), Action.SEND, REF, T0 + timedelta(hours=1)).snapshot
    with pytest.raises(TransitionRefused) as caught:
        step(sent, Action.ACCEPT, RECV, T0 + timedelta(minutes=59))
    assert caught.value.code == "time_before_last_event"


# --- scheduling ------------------------------------------------------------------


def test_immediate_schedule_for_an_emergency_bed_request() -> None:
    d = draft(Priority.URGENT, bed_request=True, bed_service="anaesthesia_icu")
    assert d.bed_request
    assert d.bed_service == "anaesthesia_icu"
    sent = step(d, Action.SEND, REF, T0).snapshot
    accepted = step(sent, Action.ACCEPT, RECV, T0 + timedelta(minutes=10)).snapshot
    now = T0 + timedelta(minutes=11)
    t = step(accepted, Action.SCHEDULE, RECV, now, Payload(immediate=True))
    assert t.snapshot.appointment_at == now
    assert t.event.immediate
    assert t.event.appointment_at == now


def test_appointment_exactly_now_is_not_in_the_past_and_rescheduling_works() -> None:
    accepted = in_state(ReferralState.ACCEPTED)
    now = T0 + timedelta(days=1)
    first = step(accepted, Action.SCHEDULE, RECV, now, Payload(appointment_at=now)).snapshot
    later = now + timedelta(days=3)
    second = step(first, Action.SCHEDULE, RECV, now, Payload(appointment_at=later))
    assert second.snapshot.state is ReferralState.APPOINTMENT_SCHEDULED
    assert second.snapshot.appointment_at == later
    assert second.event.from_state is second.event.to_state


# --- redirect chain ------------------------------------------------------------------


def test_a_redirect_keeps_the_chain() -> None:
    sent = step(draft(), Action.SEND, REF, T0).snapshot  # id 1: CSR-HOC-01 → HP-HOC
    at = T0 + timedelta(hours=5)
    t = step(
        sent, Action.REDIRECT, RECV, at, Payload(reason="pas de cardiologue", destination="hr-tet")
    )
    assert t.snapshot.state is ReferralState.REDIRECTED
    assert t.snapshot.redirected_to == "HR-TET"
    assert t.snapshot.closing_reason == "pas de cardiologue"
    assert t.event.destination == "HR-TET"

    child = t.spawned
    assert child is not None
    assert t.spawned_event is not None
    assert (child.source, child.destination) == ("CSR-HOC-01", "HR-TET")
    assert (child.parent_id, child.root_id) == (1, 1)
    assert child.chain == ("HP-HOC", "HR-TET")
    assert child.state is ReferralState.SENT
    assert child.version == 1
    assert child.sent_at == at
    assert child.answer_due_at == at + timedelta(days=15)
    assert child.map_version == 1
    assert child.designated_destination == "HP-HOC"
    assert child.is_redirect
    assert child.along_map is False
    assert t.spawned_event.action is Action.REDIRECT
    assert (t.spawned_event.from_state, t.spawned_event.to_state) == (None, ReferralState.SENT)
    assert t.spawned_event.related_id == 1
    assert history_problems([t.spawned_event]) == []

    # The second hop keeps the root and refuses to go back along the chain.
    child = replace(child, id=2)
    again = step(
        child, Action.REDIRECT, RECV, at, Payload(reason="plateau technique", destination="CHU-TNG")
    )
    grandchild = again.spawned
    assert grandchild is not None
    assert (grandchild.parent_id, grandchild.root_id) == (2, 1)
    assert grandchild.chain == ("HP-HOC", "HR-TET", "CHU-TNG")
    grandchild = replace(grandchild, id=3)
    for target, code in [
        ("HP-HOC", "redirect_loop"),
        ("HR-TET", "redirect_loop"),
        ("CSR-HOC-01", "redirect_to_source"),
    ]:
        with pytest.raises(TransitionRefused) as caught:
            step(grandchild, Action.REDIRECT, RECV, at, Payload(reason="x", destination=target))
        assert caught.value.code == code

    # The counter-referral of the last hop goes back to the original referrer.
    s = grandchild
    for action in (Action.ACCEPT, Action.SCHEDULE, Action.ARRIVE, Action.COMPLETE):
        s = step(s, action, RECV, at).snapshot
    assert s.state is ReferralState.COMPLETED
    assert s.source == "CSR-HOC-01"
    assert s.counter_referral


# --- concurrency -----------------------------------------------------------------------


class CasStore:
    """What the service does with ``UPDATE … WHERE id = ? AND version = ?``."""

    def __init__(self, row: ReferralSnapshot) -> None:
        self.row = row

    def save(self, loaded_version: int, new: ReferralSnapshot) -> None:
        if self.row.version != loaded_version:  # zero rows updated
            raise TransitionRefused(
                "stale_version", current=self.row.version, expected=loaded_version
            )
        self.row = new


def test_the_race_of_two_accepts() -> None:
    store = CasStore(in_state(ReferralState.RECEIVED))
    first_seen = store.row
    second_seen = store.row
    at = T0 + timedelta(hours=1)
    a = step(first_seen, Action.ACCEPT, RECV, at)
    b = step(second_seen, Action.REFUSE, RECV, at)  # both valid on what they saw…
    store.save(first_seen.version, a.snapshot)
    with pytest.raises(TransitionRefused) as caught:  # …only one is stored
        store.save(second_seen.version, b.snapshot)
    assert caught.value.code == "stale_version"
    assert caught.value.status_code == 409
    assert store.row.state is ReferralState.ACCEPTED
    # The loser, reloading, cannot accept again.
    with pytest.raises(TransitionRefused) as again:
        step(store.row, Action.ACCEPT, RECV, at)
    assert again.value.code == "not_allowed_from_state"


def test_expected_version_refuses_a_decision_taken_on_a_stale_page() -> None:
    received = in_state(ReferralState.RECEIVED)
    with pytest.raises(TransitionRefused) as caught:
        apply(
            received,
            Action.ACCEPT,
            RECV,
            T0 + timedelta(hours=1),
            by="x",
            expected_version=received.version - 1,
        )
    assert caught.value.code == "stale_version"
    ok = apply(
        received,
        Action.ACCEPT,
        RECV,
        T0 + timedelta(hours=1),
        by="x",
        expected_version=received.version,
    )
    assert ok.snapshot.version == received.version + 1


# --- sides -------------------------------------------------------------------------------


def _principal(scope: Scope, role: Role = Role.CLINICIAN) -> Principal:
    return Principal(7, "u", role, scope)


def test_sides_of_a_principal() -> None:
    where = {
        "source": "CSR-HOC-01",
        "source_province": "HOC",
        "destination": "HR-TET",
        "destination_province": "TET",
    }
    est = Scope(ScopeKind.ESTABLISHMENT, frozenset({"HR-TET"}))
    assert sides_of(_principal(est), **where) == {Side.RECEIVING}
    hoc = Scope(ScopeKind.PROVINCE, frozenset({"HOC"}))
    assert sides_of(_principal(hoc), **where) == {Side.REFERRING}
    assert sides_of(_principal(Scope(ScopeKind.GST)), **where) == {REF, RECV}
    other = Scope(ScopeKind.PROVINCE, frozenset({"LAR"}))
    assert sides_of(_principal(other), **where) == frozenset()


def test_choose_side_for_a_user_holding_both() -> None:
    both = {REF, RECV}
    assert choose_side(Action.ACCEPT, ReferralState.SENT, both) is RECV
    assert choose_side(Action.SEND, ReferralState.DRAFT, both) is REF
    assert choose_side(Action.CANCEL, ReferralState.ACCEPTED, both) is REF
    assert choose_side(Action.CANCEL, ReferralState.ACCEPTED, {RECV}) is RECV
    assert choose_side(Action.ACCEPT, ReferralState.SENT, {REF}) is None
    assert choose_side(Action.EXPIRE, ReferralState.SENT, both) is None


def test_available_actions() -> None:
    sent = in_state(ReferralState.SENT)
    now = T0 + timedelta(days=1)
    assert available_actions(sent, {RECV}, now) == [
        Action.RECEIVE,
        Action.ACCEPT,
        Action.REFUSE,
        Action.REDIRECT,
    ]
    assert available_actions(sent, {REF}, now) == [Action.CANCEL]
    assert available_actions(sent, {SYS}, now) == []
    assert available_actions(sent, {SYS}, T0 + timedelta(days=16)) == [Action.EXPIRE]
    assert available_actions(in_state(ReferralState.COMPLETED), {REF, RECV, SYS}, now) == []


# --- timings -------------------------------------------------------------------------------


def test_timings_of_a_complete_pathway() -> None:
    events = []
    t = new_referral(
        source="CSR-HOC-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=Priority.PRIORITY,
        now=T0,
        by="inf",
    )
    events.append(t.event)
    s = t.snapshot
    moves: list[tuple[Action, Side, timedelta, Payload]] = [
        (Action.SEND, REF, timedelta(minutes=5), FULL_PAYLOAD),
        (Action.RECEIVE, RECV, timedelta(hours=2), FULL_PAYLOAD),
        (Action.ACCEPT, RECV, timedelta(hours=26), FULL_PAYLOAD),
        (
            Action.SCHEDULE,
            RECV,
            timedelta(hours=27),
            Payload(appointment_at=T0 + timedelta(days=6)),
        ),
        (
            Action.SCHEDULE,
            RECV,
            timedelta(hours=28),
            Payload(appointment_at=T0 + timedelta(days=8)),
        ),
        (Action.ARRIVE, RECV, timedelta(days=8, hours=1), FULL_PAYLOAD),
        (Action.COMPLETE, RECV, timedelta(days=9), FULL_PAYLOAD),
    ]
    for action, side, offset, payload in moves:
        t = step(s, action, side, T0 + offset, payload)
        s = t.snapshot
        events.append(t.event)
    assert history_problems(events) == []
    sent_at = T0 + timedelta(minutes=5)
    facts = timings(events, s.answer_due_at)
    assert facts.final_state is ReferralState.COMPLETED
    assert facts.sent_at == sent_at
    assert facts.answer is ReferralState.ACCEPTED
    assert facts.time_to_answer == timedelta(hours=26) - timedelta(minutes=5)
    assert facts.answered_in_time is True
    assert facts.appointment_at == T0 + timedelta(days=8)
    assert facts.reschedules == 1
    assert facts.time_to_appointment == timedelta(days=8) - timedelta(minutes=5)
    assert facts.time_to_arrival == timedelta(days=8, hours=1) - timedelta(minutes=5)
    assert facts.counter_referral_returned
    assert facts.time_to_counter_referral == timedelta(hours=23)
    assert not facts.expired


def test_timings_of_an_unanswered_referral() -> None:
    t = new_referral(
        source="A1",
        destination="B1",
        specialty="cardiology",
        priority=Priority.URGENT,
        now=T0,
        by="x",
    )
    sent = step(t.snapshot, Action.SEND, REF, T0)
    expired = step(sent.snapshot, Action.EXPIRE, SYS, T0 + timedelta(hours=2))
    facts = timings([t.event, sent.event, expired.event], sent.snapshot.answer_due_at)
    assert facts.expired
    assert facts.answer is None
    assert facts.time_to_answer is None
    assert facts.answered_in_time is None
    assert not facts.counter_referral_returned


def test_history_problems_detects_broken_histories() -> None:
    t = new_referral(
        source="A1",
        destination="B1",
        specialty="cardiology",
        priority=Priority.URGENT,
        now=T0,
        by="x",
    )
    sent = step(t.snapshot, Action.SEND, REF, T0 + timedelta(minutes=1))
    accepted = step(sent.snapshot, Action.ACCEPT, RECV, T0 + timedelta(minutes=2))
    good = [t.event, sent.event, accepted.event]
    assert history_problems(good) == []
    assert history_problems([t.event, accepted.event])  # gap
    assert history_problems([t.event, sent.event, replace(accepted.event, at=T0)])  # time back
    forged = replace(accepted.event, to_state=ReferralState.COMPLETED)
    assert history_problems([t.event, sent.event, forged])  # not a move of the machine


def test_acting_side_for_the_service() -> None:
    where = {"source_province": "HOC", "destination_province": "HOC"}
    sent = in_state(ReferralState.SENT)  # CSR-HOC-01 → HP-HOC
    at_hp = _principal(Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-HOC"})))
    at_csr = _principal(Scope(ScopeKind.ESTABLISHMENT, frozenset({"CSR-HOC-01"})))
    province = _principal(Scope(ScopeKind.PROVINCE, frozenset({"HOC"})))
    elsewhere = _principal(Scope(ScopeKind.PROVINCE, frozenset({"LAR"})))
    agent = _principal(Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-HOC"})), Role.ADMISSION_AGENT)

    assert acting_side(at_hp, sent, Action.ACCEPT, **where) is RECV
    assert acting_side(province, sent, Action.ACCEPT, **where) is RECV
    assert acting_side(province, sent, Action.CANCEL, **where) is REF
    assert acting_side(agent, sent, Action.RECEIVE, **where) is RECV  # admission desk
    refusals = [
        (at_csr, Action.ACCEPT, "side_not_allowed"),
        (elsewhere, Action.ACCEPT, "outside_scope"),
        (agent, Action.ACCEPT, "permission_missing"),
        (province, Action.EXPIRE, "system_only"),
    ]
    for principal, action, code in refusals:
        with pytest.raises(TransitionRefused) as caught:
            acting_side(principal, sent, action, **where)
        assert caught.value.code == code
        assert caught.value.status_code == 403
        assert caught.value.render()
    # A state that forbids the action: the side is given so that apply says why (409).
    completed = in_state(ReferralState.COMPLETED)
    side = acting_side(at_csr, completed, Action.ACCEPT, **where)
    with pytest.raises(TransitionRefused) as caught:
        apply(completed, Action.ACCEPT, side, T0 + timedelta(days=1), by="x")
    assert caught.value.code == "terminal_state"
