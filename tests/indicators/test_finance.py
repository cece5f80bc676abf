"""Budget execution and action-programme completion through the finance context, by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from parcours.finance import service as finance
from parcours.finance.rules import ActionStatus, MovementKind
from parcours.finance.schemas import ActionIn, ActionUpdate, LineIn, MovementIn, ProgrammeIn
from parcours.indicators import service
from parcours.indicators.rules import parse_period

FINANCE = finance.system_finance("test")


def _line(db: Session, establishment: str | None, code: str) -> int:
    return finance.create_line(
        db, FINANCE, LineIn(year=2026, establishment=establishment, code=code)
    ).id


def _move(db: Session, line: int, kind: MovementKind, amount: str, day: date) -> None:
    finance.record_movement(
        db, FINANCE, line, MovementIn(kind=kind, amount=Decimal(amount), booked_on=day,
                                      reason="mouvement de test")
    )  # fmt: skip


def _value(
    db: Session, code: str, period: str, level: str = "region", unit: str | None = None
) -> float | None:
    service._STATE_CACHE.clear()
    tree = service.tree(db)
    reader = service.Reader(db, tree, today=date(2026, 12, 31))
    info = service.get_indicator(db, code)
    return service.value_of(reader, info, tree.unit(level, unit), parse_period(period).months).value


@pytest.mark.usefixtures("small_region")
def test_budget_execution_and_programme_completion_from_the_finance_facts(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    chu = _line(db, "CHU-TNG", "operating.medicines")
    seat = _line(db, None, "investment.digital")
    _move(db, chu, MovementKind.ALLOCATION, "1000000.00", date(2026, 1, 15))
    _move(db, seat, MovementKind.ALLOCATION, "1000000.00", date(2026, 1, 20))
    _move(db, chu, MovementKind.COMMITMENT, "400000.00", date(2026, 2, 10))
    _move(db, chu, MovementKind.PAYMENT_ORDER, "400000.00", date(2026, 3, 1))
    _move(db, chu, MovementKind.PAYMENT, "300000.00", date(2026, 3, 15))
    _move(db, chu, MovementKind.PAYMENT, "100000.00", date(2026, 7, 1))
    # to the end of June: 300,000 paid of 2,000,000 in the region, of 1,000,000 at the CHU
    assert _value(db, "EXEC_BUDGET", "2026-06") == pytest.approx(15.0)
    assert _value(db, "EXEC_BUDGET", "2026-06", "establishment", "CHU-TNG") == pytest.approx(30.0)
    assert _value(db, "EXEC_BUDGET", "2026-06", "province", "TNG") == pytest.approx(30.0)
    # the third quarter ends after July's payment
    assert _value(db, "EXEC_BUDGET", "2026-T3") == pytest.approx(20.0)

    finance.create_programme(
        db, FINANCE, ProgrammeIn(code="PAT-T", title="Programme de test",
                                 starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    )  # fmt: skip
    actions = []
    for deadline, establishment in (
        (date(2026, 3, 1), "CHU-TNG"),
        (date(2026, 4, 1), "CHU-TNG"),
        (date(2026, 5, 1), "CHU-TNG"),
        (date(2026, 9, 1), None),
    ):
        actions.append(
            finance.add_action(
                db, FINANCE, "PAT-T", ActionIn(title="Action de test", owner="Direction",
                                               establishment=establishment, deadline=deadline)
            ).id
        )  # fmt: skip
    updates = {
        actions[0]: (ActionStatus.DONE, 100, date(2026, 2, 20)),
        actions[1]: (ActionStatus.IN_PROGRESS, 50, None),
        actions[2]: (ActionStatus.CANCELLED, 0, None),
    }
    for action_id, (status, progress, done_on) in updates.items():
        finance.update_action(
            db, FINANCE, action_id, ActionUpdate(status=status, progress_pct=progress,
                                                 note="avancement", completed_on=done_on)
        )  # fmt: skip
    # due by June, the cancelled one left out: two, one of them done
    assert _value(db, "PROGRAMME_ACTION", "2026-06") == pytest.approx(50.0)
    assert _value(db, "PROGRAMME_ACTION", "2026-06", "establishment", "CHU-TNG") == pytest.approx(
        50.0
    )
    # by the end of the year the region's own action is due too, and not done
    assert _value(db, "PROGRAMME_ACTION", "2026") == pytest.approx(100 / 3)
