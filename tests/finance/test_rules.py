"""The finance's pure rules: exact amounts, what a movement does to a line, the invariants,
the transfer workflow, the alerts' thresholds, late actions and completion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from parcours.finance import rules
from parcours.finance.rules import (
    ActionStatus,
    AlertKind,
    Balance,
    Chapter,
    Measure,
    MovementKind,
    ProjectStatus,
    TransferState,
)


def test_amounts_are_decimals_with_two_places_and_never_floats() -> None:
    assert rules.money("10.005") == Decimal("10.00")  # banker's rounding
    assert rules.money("10.015") == Decimal("10.02")
    assert rules.parse_amount("1 234 567,89") == Decimal("1234567.89")
    assert rules.parse_amount("1\u202f234,5") == Decimal("1234.50")
    assert rules.parse_amount("1234567.89") == Decimal("1234567.89")
    with pytest.raises(TypeError):
        rules.money(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalide"):
        rules.parse_amount("douze")
    with pytest.raises(ValueError, match="invalide"):
        rules.parse_amount("NaN")


def test_each_kind_changes_one_total_with_its_sign() -> None:
    assert rules.effect(MovementKind.TRANSFER_OUT, Decimal(5)) == (Measure.ALLOCATED, Decimal(-5))
    assert rules.effect(MovementKind.DECOMMITMENT, Decimal(5)) == (Measure.COMMITTED, Decimal(-5))
    assert rules.effect(MovementKind.AMENDMENT, Decimal(-5)) == (Measure.ALLOCATED, Decimal(-5))
    assert rules.effect(MovementKind.PAYMENT, Decimal(5)) == (Measure.PAID, Decimal(5))
    assert rules.check_amount(MovementKind.COMMITMENT, Decimal(0))[0].code == "non_positive_amount"
    assert rules.check_amount(MovementKind.AMENDMENT, Decimal(-1)) == []


def test_the_chain_of_totals() -> None:
    ok = Balance(Decimal(100), Decimal(100), Decimal(50), Decimal(50))
    assert rules.check_balance(ok) == []
    over = ok.plus(Measure.COMMITTED, Decimal("0.01"))
    (problem,) = rules.check_balance(over)
    assert problem.code == "credit_exceeded"
    assert "0,01 DH" in problem.message
    assert rules.check_balance(ok.plus(Measure.PAID, Decimal(1)))[0].code == (
        "payment_exceeds_orders"
    )
    assert ok.available == Decimal(0)


def test_counter_entries_and_transfers() -> None:
    assert rules.can_counter(MovementKind.COMMITMENT, False) == []
    assert rules.can_counter(MovementKind.COMMITMENT, True)[0].code == "already_corrected"
    assert rules.can_counter(MovementKind.COUNTER_ENTRY, False)[0].code == "counter_of_counter"
    assert rules.can_counter(MovementKind.TRANSFER_IN, False)[0].code == "counter_of_transfer"
    assert rules.check_transfer_request(1, 1, True, Decimal(1), "motif")[0].code == "same_line"
    assert rules.check_transfer_request(1, 2, True, Decimal(1), "")[0].code == "reason_required"
    codes = [p.code for p in rules.check_transfer_decision(TransferState.APPROVED, "a", "a", "")]
    assert codes == ["already_decided", "four_eyes", "reason_required"]
    assert rules.check_transfer_decision(TransferState.REQUESTED, "a", "b", "visa") == []


def test_lines_and_chapters() -> None:
    assert rules.chapter_of("operating.medicines") is Chapter.OPERATING
    assert rules.chapter_of("personnel") is Chapter.PERSONNEL
    with pytest.raises(ValueError, match="inconnue"):
        rules.chapter_of("operating.caviar")


def test_alert_thresholds() -> None:
    allocated = Decimal(1000)
    near = Balance(allocated, Decimal(950), Decimal(0), Decimal(0))
    assert AlertKind.NEAR_OVERRUN in rules.execution_alerts(near, Decimal("0.1"))
    below = Balance(allocated, Decimal(949), Decimal(0), Decimal(0))
    assert rules.execution_alerts(below, Decimal("0.1")) == []
    # half the year gone, 24 % paid: more than 25 points behind → under-executed
    lagging = Balance(allocated, Decimal(500), Decimal(240), Decimal(240))
    assert rules.execution_alerts(lagging, Decimal("0.5")) == [AlertKind.UNDER_EXECUTED]
    keeping_up = Balance(allocated, Decimal(500), Decimal(250), Decimal(250))
    assert rules.execution_alerts(keeping_up, Decimal("0.5")) == []
    # too early in the year to call anything under-executed
    assert rules.execution_alerts(Balance(allocated), Decimal("0.2")) == []
    assert rules.year_elapsed(2026, date(2026, 12, 31)) == Decimal(1)
    assert rules.year_elapsed(2026, date(2025, 6, 1)) == Decimal(0)
    assert rules.year_elapsed(2026, date(2026, 7, 2)) == Decimal("0.5014")  # day 183 of 365


def test_late_actions_and_completion() -> None:
    today = date(2026, 6, 30)
    assert rules.is_late(ActionStatus.IN_PROGRESS, date(2026, 6, 29), today)
    assert not rules.is_late(ActionStatus.DONE, date(2026, 1, 1), today)
    assert not rules.is_late(ActionStatus.CANCELLED, date(2026, 1, 1), today)
    assert not rules.is_late(ActionStatus.PLANNED, today, today)
    actions = [
        (ActionStatus.DONE, date(2026, 3, 1)),
        (ActionStatus.IN_PROGRESS, date(2026, 4, 1)),
        (ActionStatus.CANCELLED, date(2026, 5, 1)),
        (ActionStatus.DONE, date(2026, 9, 1)),  # done early, not yet due
    ]
    assert rules.completion(actions, today) == (1, 2, Decimal("0.5000"))
    assert rules.completion([], today) == (0, 0, None)
    assert (
        rules.check_action_change(ActionStatus.CANCELLED, ActionStatus.DONE, 100, "x y")[0].code
        == "status_transition"
    )


def test_projects() -> None:
    assert (
        rules.check_project_change(
            ProjectStatus.IN_PROGRESS, ProjectStatus.DELIVERED, 100, "réception"
        )
        == []
    )
    assert (
        rules.check_project_change(
            ProjectStatus.PLANNED, ProjectStatus.DELIVERED, 100, "réception"
        )[0].code
        == "status_transition"
    )
    assert rules.delay_days(date(2026, 1, 1), date(2026, 1, 31)) == 30
    assert rules.delay_days(date(2026, 1, 31), date(2026, 1, 1)) == 0
