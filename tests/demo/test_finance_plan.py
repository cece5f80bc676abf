"""The demo's finance plan: deterministic, in the pilot's orders of magnitude, with the
execution rhythms, late actions and new hospitals that the pages show."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Engine

from parcours.access import audit
from parcours.db import make_session_factory
from parcours.demo import finance_plan, pipeline
from parcours.demo.finance_plan import Unit
from parcours.demo.steps.finance import STEP as FINANCE
from parcours.demo.steps.territory import STEP as TERRITORY
from parcours.finance import facts, service
from parcours.finance.rules import (
    ActionStatus,
    Balance,
    Chapter,
    Measure,
    MovementKind,
    check_balance,
)
from parcours.territory import service as territory
from parcours.territory.rules import Status

TODAY = date(2026, 12, 3)
UNITS = [Unit(None, Decimal(0)), Unit("CHU-TNG-01", Decimal(900 * 16) / 10)] + [
    Unit(f"HP-X-{i:02d}", Decimal(60 + 10 * i)) for i in range(22)
]


def test_the_plan_is_deterministic() -> None:
    a = finance_plan.plan_budget(UNITS, today=TODAY, seed=7)
    b = finance_plan.plan_budget(UNITS, today=TODAY, seed=7)
    assert a.movements == b.movements
    assert finance_plan.plan_budget(UNITS, today=TODAY, seed=8).movements != a.movements


def test_orders_of_magnitude_and_shape() -> None:
    plan = finance_plan.plan_budget(UNITS, today=TODAY, seed=7)
    by_year: dict[int, Decimal] = defaultdict(Decimal)
    by_chapter: dict[Chapter, Decimal] = defaultdict(Decimal)
    by_unit: dict[str | None, Decimal] = defaultdict(Decimal)
    for line in plan.lines:
        by_year[line.year] += line.allocation
        if line.year == 2026:
            by_chapter[Chapter(line.code.partition(".")[0])] += line.allocation
            by_unit[line.establishment] += line.allocation
    assert set(by_year) == {2025, 2026}
    assert all(
        Decimal(3_000_000_000) < total < Decimal(5_000_000_000) for total in by_year.values()
    )
    assert max(by_chapter, key=lambda c: by_chapter[c]) is Chapter.PERSONNEL
    establishments = {k: v for k, v in by_unit.items() if k is not None}
    assert max(establishments, key=lambda k: establishments[k]) == "CHU-TNG-01"
    assert 20_000 <= len(plan.movements) <= 80_000  # a few tens of thousands
    assert all(isinstance(m.amount, Decimal) for m in plan.movements)


def test_every_line_keeps_its_chain_of_totals_in_booking_order() -> None:
    plan = finance_plan.plan_budget(UNITS, today=TODAY, seed=7)
    balances: dict[int, Balance] = defaultdict(Balance)
    for m in sorted(plan.movements, key=lambda m: (m.day, m.line)):
        measure, sign = {
            MovementKind.ALLOCATION: ("allocated", 1),
            MovementKind.AMENDMENT: ("allocated", 1),
            MovementKind.COMMITMENT: ("committed", 1),
            MovementKind.DECOMMITMENT: ("committed", -1),
            MovementKind.PAYMENT_ORDER: ("ordered", 1),
            MovementKind.PAYMENT: ("paid", 1),
        }[m.kind]
        balances[m.line] = balances[m.line].plus(Measure(measure), m.amount * sign)
        assert check_balance(balances[m.line]) == [], (plan.lines[m.line], m)
        assert m.day <= TODAY


def test_the_programme_has_about_forty_actions_some_late() -> None:
    actions = finance_plan.plan_actions(["HP-X-01", "HP-X-02"], "CHU-TNG-01", today=TODAY, seed=3)
    assert 35 <= len(actions) <= 45
    late = [a for a in actions if a.deadline < TODAY and a.status is ActionStatus.IN_PROGRESS]
    assert 3 <= len(late) <= 10
    assert any(a.status is ActionStatus.DONE for a in actions)
    assert any(a.establishment is None for a in actions)


def test_new_hospitals_are_planned_with_their_beds() -> None:
    new, projects = finance_plan.plan_projects("CHU-TNG-01", "HP-HOC-01", "HP-LAR-01")
    beds = {e.code: sum(b for _s, b in e.services) for e in new}
    for p in projects:
        if p.establishment in beds:
            assert p.beds == beds[p.establishment], p.code
    assert sum(p.beds for p in projects) > 1000


def test_the_step_builds_on_both_databases_and_runs_once(engine: Engine) -> None:
    factory = make_session_factory(engine)
    reader = service.system_finance("test")
    with factory() as db:
        run = pipeline.run(db, (TERRITORY, FINANCE), seed=2025, scale=0.1)
    counts = run.outcomes[-1].counts
    assert counts["actions"] == len(finance_plan.ACTIONS)
    assert counts["projets"] == 10
    with factory() as db:
        year = service.today().year
        report = service.execution(db, reader, year=year)
        assert Decimal(3_000_000_000) < report.total.allocated < Decimal(6_000_000_000)
        assert 0 < report.total.paid <= report.total.committed <= report.total.allocated
        # The facts for the indicators add up to what the execution table shows.
        found = facts.budget_execution_facts(db, year=year)
        assert sum(f.allocated for f in found) == report.total.allocated
        assert sum(f.paid for f in found) == report.total.paid
        summary = service.programme_summary(db, reader)
        assert summary.late
        portfolio = service.portfolio(db, reader)
        building = [p for p in portfolio.projects if p.establishment_status == "under_construction"]
        assert len(building) == 5
        assert all(p.registry_beds == p.beds_planned > 0 for p in building)
        # The new hospitals are in the registry but not yet in service: the counts stay.
        assert territory.summary(db, reader).by_status[Status.OPEN.value] == 318
        transfers = service.list_transfers(db, reader)
        assert {t.state.value for t in transfers} >= {"approved", "requested"}
        assert audit.verify(db).ok
    with factory() as db:
        again = pipeline.run(db, (TERRITORY, FINANCE), seed=2025, scale=0.1)
    assert again.already_built
