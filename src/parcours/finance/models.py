"""Tables of the finance context: a public-accounting ledger and the programme follow-up.

* ``finance_budget_line`` — one line of a year's budget for the GST's headquarters
  (``establishment_code`` NULL) or an establishment, at sub-line level
  (``operating.medicines``), carrying its running totals (allocated, committed, ordered,
  paid). The row is locked (``SELECT … FOR UPDATE`` on PostgreSQL, the writer lock on
  SQLite) by every movement on it, which is what makes the overrun check safe.
* ``finance_movement`` — the append-only ledger: every allocation, amendment, transfer,
  commitment, de-commitment, payment order, payment and counter-entry, with who, when and
  why. Database triggers refuse UPDATE and DELETE on it (migration 0006).
* ``finance_line_month`` — the same totals per line and month of booking, updated in the
  movement's transaction, so that the execution table reads a few thousand rows whatever
  the size of the ledger.
* transfers between lines (their workflow), transitional action programmes and their
  actions, reform projects; each with its append-only events.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from parcours.db import Base, UtcDateTime

CENTS = Decimal(100)


class Money(TypeDecorator[Decimal]):
    """Dirhams as exact decimals on both databases.

    PostgreSQL stores ``NUMERIC(16, 2)``. SQLite has no exact decimal type (a NUMERIC
    column keeps floats), so there the amount is stored as whole centimes in the same
    column: sums over a million movements stay exact, and Python sees ``Decimal`` either way.
    """

    impl = Numeric(16, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Declared NUMERIC(16, 2) like on PostgreSQL (the schema is the same), read
            # without SQLAlchemy's float-to-Decimal conversion: the values are integers.
            return dialect.type_descriptor(Numeric(16, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(16, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("amounts are Decimal, never float")
        amount = Decimal(value).quantize(Decimal("0.01"))
        if dialect.name == "sqlite":
            return int(amount * CENTS)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / CENTS).quantize(Decimal("0.01"))
        return Decimal(value).quantize(Decimal("0.01"))


def _money() -> Mapped[Decimal]:
    return mapped_column(Money(), default=Decimal("0.00"))


class BudgetLine(Base):
    __tablename__ = "finance_budget_line"
    __table_args__ = (
        UniqueConstraint("year", "establishment_code", "code"),
        Index("ix_finance_budget_line_unit", "year", "establishment_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    establishment_code: Mapped[str | None] = mapped_column(ForeignKey("establishment.code"))
    chapter: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    allocated: Mapped[Decimal] = _money()
    committed: Mapped[Decimal] = _money()
    ordered: Mapped[Decimal] = _money()
    paid: Mapped[Decimal] = _money()
    movements: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class Movement(Base):
    """One entry of the ledger; never changed, never deleted (triggers)."""

    __tablename__ = "finance_movement"
    __table_args__ = (Index("ix_finance_movement_line", "line_id", "booked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("finance_budget_line.id"))
    kind: Mapped[str] = mapped_column(String(20))
    measure: Mapped[str] = mapped_column(String(12))
    # Signed change of ``measure``: a transfer out or a de-commitment is negative.
    delta: Mapped[Decimal] = mapped_column(Money())
    booked_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("finance_movement.id"), unique=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("finance_transfer.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(120))


class LineMonth(Base):
    """The totals booked on a line in one month of its year (1..12)."""

    __tablename__ = "finance_line_month"

    line_id: Mapped[int] = mapped_column(ForeignKey("finance_budget_line.id"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    allocated: Mapped[Decimal] = _money()
    committed: Mapped[Decimal] = _money()
    ordered: Mapped[Decimal] = _money()
    paid: Mapped[Decimal] = _money()


class Transfer(Base):
    """A transfer of credits between two lines of a year: requested, then approved or
    rejected by someone else; only an approved one moves credit (two movements)."""

    __tablename__ = "finance_transfer"
    __table_args__ = (Index("ix_finance_transfer_state", "state", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    from_line_id: Mapped[int] = mapped_column(ForeignKey("finance_budget_line.id"))
    to_line_id: Mapped[int] = mapped_column(ForeignKey("finance_budget_line.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    requested_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Programme(Base):
    """A transitional action programme (programme d'action transitoire)."""

    __tablename__ = "finance_programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(250))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class Action(Base):
    __tablename__ = "finance_action"
    __table_args__ = (
        UniqueConstraint("programme_id", "number"),
        Index("ix_finance_action_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("finance_programme.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200))
    establishment_code: Mapped[str | None] = mapped_column(ForeignKey("establishment.code"))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    progress_pct: Mapped[int] = mapped_column(Integer, default=0)
    completed_on: Mapped[date | None] = mapped_column(Date)
    # [{"label": …, "due": "YYYY-MM-DD", "done": bool}]
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"name": …, "target": …, "value": …}]
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Budget sub-line codes that fund it (``investment.digital``…), for the year of its deadline.
    funding_lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ActionEvent(Base):
    """One change of an action's status or progress: who, when, why. Append-only."""

    __tablename__ = "finance_action_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("finance_action.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    progress_pct: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(120))


class Project(Base):
    """A reform project: an infrastructure work on an establishment of the registry (its
    planned beds count in the capacity once the establishment opens) or another project."""

    __tablename__ = "finance_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(20))
    establishment_code: Mapped[str | None] = mapped_column(ForeignKey("establishment.code"))
    beds_planned: Mapped[int] = mapped_column(Integer, default=0)
    budget: Mapped[Decimal] = mapped_column(Money())
    spent: Mapped[Decimal] = _money()
    physical_pct: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    forecast_end: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProjectEvent(Base):
    """One progress report of a project. Append-only."""

    __tablename__ = "finance_project_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("finance_project.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    physical_pct: Mapped[int] = mapped_column(Integer)
    spent: Mapped[Decimal] = mapped_column(Money())
    forecast_end: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(120))
