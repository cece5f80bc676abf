"""The budget ledger on a real database (SQLite and PostgreSQL): decimals, overruns, transfers,
counter-entries, concurrency, scope, the execution table and the facts for the indicators."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from parcours.errors import Conflict, Forbidden, Invalid
from parcours.finance import facts, service
from parcours.finance.models import LineMonth, Movement
from parcours.finance.rules import MovementKind, TransferState
from parcours.finance.schemas import CounterIn, DecisionIn, MovementIn, TransferIn
from tests.finance.conftest import ADMIN, ANALYST, CHU, REGION, REGION_2, YEAR, Budget


def move(
    kind: MovementKind, amount: str, day: date | None = None, reason: str = "test"
) -> MovementIn:
    return MovementIn(kind=kind, amount=Decimal(amount), booked_on=day, reason=reason)


def test_amounts_are_exact_decimals_through_the_database(db: Session, budget: Budget) -> None:
    # 0.1 + 0.2 is not 0.3 in floating point; in the ledger and its aggregates it must be.
    service.record_movement(
        db, REGION, budget.chu_medicines, move(MovementKind.AMENDMENT, "123456789.00")
    )
    for amount in ("0.10", "0.20", "123456789.07"):
        service.record_movement(
            db, REGION, budget.chu_medicines, move(MovementKind.COMMITMENT, amount)
        )
    line = service.line_file(db, REGION, budget.chu_medicines).line
    assert isinstance(line.committed, Decimal)
    assert line.committed == Decimal("123456789.37")
    assert line.available == Decimal("1000000.00") + Decimal("123456789.00") - line.committed
    stored = db.scalars(select(Movement.delta).where(Movement.line_id == budget.chu_medicines))
    assert all(isinstance(d, Decimal) and d.as_tuple().exponent == -2 for d in stored)
    report = service.execution(db, REGION, year=YEAR)
    row = next(r for r in report.rows if r.line_id == budget.chu_medicines)
    assert row.totals.committed == Decimal("123456789.37")
    with pytest.raises(ValidationError, match="flottant"):
        MovementIn.model_validate({"kind": "commitment", "amount": 0.1, "reason": "flottant"})
    db.rollback()


def test_an_overrun_is_refused_with_the_figures(db: Session, budget: Budget) -> None:
    service.record_movement(
        db, REGION, budget.chu_medicines, move(MovementKind.COMMITMENT, "999999.99")
    )
    with pytest.raises(Conflict) as refused:
        service.record_movement(
            db, REGION, budget.chu_medicines, move(MovementKind.COMMITMENT, "0.02")
        )
    db.rollback()
    assert refused.value.code == "credit_exceeded"
    assert "0,01 DH" in refused.value.render()  # the overrun, in French notation
    line = service.line_file(db, REGION, budget.chu_medicines)
    assert line.line.committed == Decimal("999999.99")
    assert line.line.available == Decimal("0.01")
    assert [m.kind for m in line.movements] == [MovementKind.COMMITMENT, MovementKind.ALLOCATION]


def test_the_chain_allocated_committed_ordered_paid_holds(db: Session, budget: Budget) -> None:
    with pytest.raises(Conflict) as refused:
        service.record_movement(
            db, REGION, budget.chu_medicines, move(MovementKind.PAYMENT_ORDER, "1")
        )
    assert "ordonnancements" in refused.value.render()
    db.rollback()
    service.record_movement(db, REGION, budget.chu_medicines, move(MovementKind.COMMITMENT, "100"))
    service.record_movement(
        db, REGION, budget.chu_medicines, move(MovementKind.PAYMENT_ORDER, "60")
    )
    with pytest.raises(Conflict) as refused:
        service.record_movement(
            db, REGION, budget.chu_medicines, move(MovementKind.PAYMENT, "60.01")
        )
    db.rollback()
    assert refused.value.code == "payment_exceeds_orders"
    service.record_movement(db, REGION, budget.chu_medicines, move(MovementKind.PAYMENT, "60"))
    with pytest.raises(Conflict):  # cannot de-commit below what is ordered
        service.record_movement(
            db, REGION, budget.chu_medicines, move(MovementKind.DECOMMITMENT, "41")
        )
    db.rollback()
    line = service.line_file(db, REGION, budget.chu_medicines).line
    assert (line.committed, line.ordered, line.paid) == (Decimal(100), Decimal(60), Decimal(60))


def test_a_transfer_moves_credit_only_once_approved_by_someone_else(
    db: Session, budget: Budget
) -> None:
    asked = service.request_transfer(
        db,
        REGION,
        TransferIn(
            from_line=budget.chu_salaries,
            to_line=budget.chu_medicines,
            amount=Decimal("300000.00"),
            reason="Rupture de stock d'anticancéreux",
        ),
    )
    assert asked.state is TransferState.REQUESTED
    # Requested is not moved: the medicines line still has its 1,000,000.
    assert service.line_file(db, REGION, budget.chu_medicines).line.allocated == Decimal(1_000_000)
    with pytest.raises(Conflict) as four_eyes:
        service.decide_transfer(
            db, REGION, asked.id, DecisionIn(approve=True, reason="ok pour moi")
        )
    db.rollback()
    assert four_eyes.value.code == "four_eyes"
    with pytest.raises(Forbidden):  # the regional administrator reads but does not decide
        service.decide_transfer(
            db, ADMIN, asked.id, DecisionIn(approve=True, reason="vu et approuvé")
        )
    db.rollback()
    done = service.decide_transfer(
        db, REGION_2, asked.id, DecisionIn(approve=True, reason="Visa du contrôle de gestion")
    )
    assert done.state is TransferState.APPROVED
    assert done.decided_by == "finance.controle"
    assert done.to_line.allocated == Decimal("1300000.00")
    assert done.from_line.allocated == Decimal("4700000.00")
    with pytest.raises(Conflict) as again:
        service.decide_transfer(db, REGION_2, asked.id, DecisionIn(approve=False, reason="non"))
    db.rollback()
    assert again.value.code == "already_decided"
    kinds = {m.kind for m in service.line_file(db, REGION, budget.chu_salaries).movements}
    assert MovementKind.TRANSFER_OUT in kinds


def test_a_rejected_transfer_moves_nothing(db: Session, budget: Budget) -> None:
    asked = service.request_transfer(
        db,
        REGION,
        TransferIn(
            from_line=budget.hq_digital,
            to_line=budget.hoc_maintenance,
            amount=Decimal("1000"),
            reason="Réparation du groupe électrogène",
        ),
    )
    out = service.decide_transfer(
        db, REGION_2, asked.id, DecisionIn(approve=False, reason="À financer sur le siège")
    )
    assert out.state is TransferState.REJECTED
    assert out.from_line.allocated == Decimal(800_000)
    assert out.to_line.allocated == Decimal(250_000)


def test_a_transfer_cannot_take_committed_credit(db: Session, budget: Budget) -> None:
    service.record_movement(
        db, REGION, budget.hoc_maintenance, move(MovementKind.COMMITMENT, "200000")
    )
    with pytest.raises(Conflict) as refused:
        service.request_transfer(
            db,
            REGION,
            TransferIn(
                from_line=budget.hoc_maintenance,
                to_line=budget.chu_medicines,
                amount=Decimal("50000.01"),
                reason="Redéploiement",
            ),
        )
    assert refused.value.code == "credit_exceeded"


def test_a_mistake_is_corrected_by_a_counter_entry_and_never_deleted(
    db: Session, budget: Budget
) -> None:
    wrong = service.record_movement(
        db,
        REGION,
        budget.chu_medicines,
        move(MovementKind.COMMITMENT, "12500.00", reason="BC 2026-114"),
    )
    fixed = service.counter_entry(
        db, REGION, wrong.id, CounterIn(reason="Saisi sur la mauvaise ligne")
    )
    assert fixed.kind is MovementKind.COUNTER_ENTRY
    assert fixed.corrects_id == wrong.id
    assert fixed.delta == Decimal("-12500.00")
    file = service.line_file(db, REGION, budget.chu_medicines)
    assert file.line.committed == Decimal(0)
    original = next(m for m in file.movements if m.id == wrong.id)
    assert original.corrected_by == fixed.id
    with pytest.raises(Conflict) as twice:
        service.counter_entry(db, REGION, wrong.id, CounterIn(reason="encore"))
    db.rollback()
    assert twice.value.code == "already_corrected"
    with pytest.raises(Conflict):
        service.counter_entry(db, REGION, fixed.id, CounterIn(reason="annuler l'annulation"))
    db.rollback()


def test_a_counter_entry_that_would_break_the_chain_is_refused(db: Session, budget: Budget) -> None:
    service.record_movement(
        db, REGION, budget.hoc_maintenance, move(MovementKind.COMMITMENT, "250000")
    )
    allocation = next(
        m
        for m in service.line_file(db, REGION, budget.hoc_maintenance).movements
        if m.kind is MovementKind.ALLOCATION
    )
    with pytest.raises(Conflict) as refused:
        service.counter_entry(db, REGION, allocation.id, CounterIn(reason="dotation en double"))
    assert refused.value.code == "credit_exceeded"


def test_the_ledger_refuses_update_and_delete(db: Session, budget: Budget) -> None:
    movement_id = db.scalars(select(Movement.id)).first()
    db.rollback()
    for statement in (
        "UPDATE finance_movement SET reason = 'effacé' WHERE id = :id",
        "DELETE FROM finance_movement WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement), {"id": movement_id})
        db.rollback()


def test_concurrent_commitments_cannot_together_exceed_the_line(
    session_factory: sessionmaker[Session], db: Session, budget: Budget
) -> None:
    """Eight threads each commit 300,000 on a 1,000,000 line at once: three pass, five are
    refused, and the line's totals match its ledger."""
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def commit_one() -> None:
        with session_factory() as session:
            start.wait()
            try:
                service.record_movement(
                    session,
                    REGION,
                    budget.chu_medicines,
                    move(MovementKind.COMMITMENT, "300000.00", reason="marché concurrent"),
                )
                result = "ok"
            except Conflict as exc:
                session.rollback()
                result = exc.code
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=commit_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["credit_exceeded"] * 5 + ["ok"] * 3
    file = service.line_file(db, REGION, budget.chu_medicines)
    assert file.line.committed == Decimal("900000.00")
    ledger = sum(m.delta for m in file.movements if m.measure == "committed")
    assert ledger == file.line.committed


def test_an_establishment_sees_and_moves_only_its_budget(db: Session, budget: Budget) -> None:
    lines = service.list_lines(db, CHU, year=YEAR)
    assert {line.establishment for line in lines} == {"CHU-TNG"}
    with pytest.raises(Forbidden):
        service.record_movement(db, CHU, budget.hoc_maintenance, move(MovementKind.COMMITMENT, "1"))
    db.rollback()
    with pytest.raises(Forbidden):
        service.line_file(db, CHU, budget.hq_digital)
    report = service.execution(db, CHU, year=YEAR)
    assert {row.establishment for row in report.rows} == {"CHU-TNG"}
    with pytest.raises(Forbidden):
        service.execution(db, ANALYST, year=YEAR)
    region = service.execution(db, ADMIN, year=YEAR)
    assert {row.establishment for row in region.rows} == {"CHU-TNG", "HP-HOC-01", None}


def test_the_execution_table_reads_months_and_raises_alerts(db: Session, budget: Budget) -> None:
    for kind, amount, day in (
        (MovementKind.COMMITMENT, "400000", date(YEAR, 2, 10)),
        (MovementKind.PAYMENT_ORDER, "400000", date(YEAR, 3, 1)),
        (MovementKind.PAYMENT, "250000", date(YEAR, 3, 20)),
        (MovementKind.COMMITMENT, "560000", date(YEAR, 5, 5)),
    ):
        service.record_movement(db, REGION, budget.chu_medicines, move(kind, amount, day))
    march = service.execution(
        db, REGION, year=YEAR, establishment="CHU-TNG", through_month=3, as_of=date(YEAR, 6, 30)
    )
    row = next(r for r in march.rows if r.line_id == budget.chu_medicines)
    assert row.totals.committed == Decimal(400_000)
    assert row.totals.paid == Decimal(250_000)
    assert row.totals.execution_rate == Decimal("0.2500")
    assert [m.cumulative_paid for m in march.months] == [Decimal(0), Decimal(0), Decimal(250_000)]
    june = service.execution(db, REGION, year=YEAR, through_month=6, as_of=date(YEAR, 6, 30))
    medicines = next(r for r in june.rows if r.line_id == budget.chu_medicines)
    assert medicines.totals.commitment_rate == Decimal("0.9600")
    assert [a.value for a in medicines.alerts] == ["near_overrun"]
    # Nothing paid at half-year on the headquarters' digital line: under-executed.
    digital = next(r for r in june.rows if r.line_id == budget.hq_digital)
    assert [a.value for a in digital.alerts] == ["under_executed"]
    assert june.total.allocated == Decimal("7050000.00")
    assert june.total.paid == Decimal(250_000)
    assert sum(u.totals.allocated for u in june.units) == june.total.allocated


def test_facts_for_the_indicators(db: Session, budget: Budget) -> None:
    service.record_movement(
        db, REGION, budget.chu_medicines, move(MovementKind.COMMITMENT, "1000", date(YEAR, 4, 2))
    )
    service.record_movement(
        db, REGION, budget.chu_salaries, move(MovementKind.COMMITMENT, "500", date(YEAR, 4, 9))
    )
    found = facts.budget_execution_facts(db, year=YEAR)
    april = [f for f in found if f.month == 4 and f.establishment_code == "CHU-TNG"]
    assert {(f.line_code, f.committed) for f in april} == {
        ("operating", Decimal(1000)),
        ("personnel", Decimal(500)),
    }
    allocated = sum(f.allocated for f in found)
    assert allocated == Decimal("7050000.00")
    assert all(isinstance(f.paid, Decimal) for f in found)
    assert facts.budget_execution_facts(db, year=YEAR - 1) == []


def test_bulk_load_applies_the_same_rules(db: Session, budget: Budget) -> None:
    moves = [
        service.BulkMovement(
            budget.hoc_maintenance,
            MovementKind.COMMITMENT,
            Decimal("1000.10"),
            date(YEAR, m, 3),
            "bc",
        )
        for m in range(1, 13)
    ]
    moves.append(
        service.BulkMovement(
            budget.hoc_maintenance,
            MovementKind.PAYMENT_ORDER,
            Decimal("500"),
            date(YEAR, 6, 4),
            "op",
        )
    )
    assert service.bulk_load(db, REGION, moves) == 13
    db.commit()
    line = service.line_file(db, REGION, budget.hoc_maintenance).line
    assert line.committed == Decimal("12001.20")
    assert line.ordered == Decimal(500)
    months = {
        r.month: r.committed
        for r in db.scalars(select(LineMonth).where(LineMonth.line_id == budget.hoc_maintenance))
    }
    assert months[7] == Decimal("1000.10")
    db.rollback()
    with pytest.raises(Conflict):
        service.bulk_load(
            db,
            REGION,
            [
                service.BulkMovement(
                    budget.hoc_maintenance,
                    MovementKind.COMMITMENT,
                    Decimal(250_000),
                    date(YEAR, 1, 1),
                    "trop",
                )
            ],
        )
    db.rollback()


def test_a_movement_outside_the_year_is_refused(db: Session, budget: Budget) -> None:
    with pytest.raises(Invalid) as refused:
        service.record_movement(
            db,
            REGION,
            budget.chu_medicines,
            move(MovementKind.COMMITMENT, "1", date(YEAR + 1, 1, 2)),
        )
    assert refused.value.code == "outside_year"
