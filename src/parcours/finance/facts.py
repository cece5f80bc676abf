"""What finance publishes for the indicators context: plain facts, no ORM objects.

The interface agreed with the indicators engineer: the budget's monthly movements by
unit and top-level line, and the actions of the transitional programmes. The budget
execution rate of a unit and period is paid / allocated cumulated to the period's end;
a programme's completion is done actions / actions due (deadline ≤ period end, not
cancelled) — see ``rules.completion``.

No scope and no audit here: the facts are aggregates of the whole GST for the indicator
computation, which applies its own rules of who sees which indicator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcours.finance.models import Action, BudgetLine, LineMonth, Programme


@dataclass(frozen=True)
class BudgetExecutionFact:
    establishment_code: str | None  # None = the GST's regional (headquarters) lines
    year: int
    month: int  # 1..12; amounts are the movements OF that month
    line_code: str  # the top-level line: "personnel", "operating", "investment"
    allocated: Decimal  # initial allocation + amendments + transfers in − out, booked that month
    committed: Decimal
    paid: Decimal


def budget_execution_facts(
    session: Session, *, year: int | None = None
) -> list[BudgetExecutionFact]:
    """The month's totals by unit, year and chapter, read from the monthly aggregate."""
    query = (
        select(
            BudgetLine.establishment_code,
            BudgetLine.year,
            LineMonth.month,
            BudgetLine.chapter,
            func.sum(LineMonth.allocated),
            func.sum(LineMonth.committed),
            func.sum(LineMonth.paid),
        )
        .join(BudgetLine, BudgetLine.id == LineMonth.line_id)
        .group_by(
            BudgetLine.establishment_code, BudgetLine.year, LineMonth.month, BudgetLine.chapter
        )
        .order_by(BudgetLine.year, LineMonth.month, BudgetLine.chapter)
    )
    if year is not None:
        query = query.where(BudgetLine.year == year)
    zero = Decimal("0.00")
    return [
        BudgetExecutionFact(
            establishment_code=est,
            year=int(y),
            month=int(m),
            line_code=str(chapter),
            allocated=allocated if allocated is not None else zero,
            committed=committed if committed is not None else zero,
            paid=paid if paid is not None else zero,
        )
        for est, y, m, chapter, allocated, committed, paid in session.execute(query)
    ]


@dataclass(frozen=True)
class ActionFact:
    action_id: int
    programme_code: str
    establishment_code: str | None  # None = the region
    deadline: date
    status: str  # the ActionStatus value: "planned" | "in_progress" | "done" | "cancelled"
    completed_on: date | None
    progress_pct: int  # 0..100


def action_facts(session: Session) -> list[ActionFact]:
    rows = session.execute(
        select(
            Action.id,
            Programme.code,
            Action.establishment_code,
            Action.deadline,
            Action.status,
            Action.completed_on,
            Action.progress_pct,
        )
        .join(Programme, Programme.id == Action.programme_id)
        .order_by(Action.id)
    )
    return [
        ActionFact(
            action_id=int(action_id),
            programme_code=str(code),
            establishment_code=est,
            deadline=deadline,
            status=str(status),
            completed_on=completed,
            progress_pct=int(progress),
        )
        for action_id, code, est, deadline, status, completed, progress in rows
    ]
