"""Use cases of the GST's finance: one function per thing a user does, one transaction each.

Who sees what: ``finance.read`` (finance officers, the regional administrator) reads the
budget; ``finance.write`` (finance officers) records. The scope applies as everywhere: a
user scoped to establishments sees and moves only their lines; the headquarters' lines
(no establishment) belong to the GST-wide scope. Every write is recorded by
``parcours.access.audit.record`` in the transaction of the act; budget figures are not
personal data, so reads are not audited.

The overrun check is safe under concurrency because every movement on a line first locks
the line's row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's transactions all start
with ``BEGIN IMMEDIATE``, which takes the writer lock), then reads its running totals,
checks the rules and writes the movement, the new totals and the month's totals before
committing. The execution table reads the monthly totals, never the ledger.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from parcours import bulk_store
from parcours.access import audit
from parcours.access.rules import Permission, Principal, Role, Scope, ScopeKind
from parcours.access.service import require
from parcours.db import lock_for_update, utcnow
from parcours.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, refuse
from parcours.finance import rules
from parcours.finance.models import (
    Action,
    ActionEvent,
    BudgetLine,
    LineMonth,
    Movement,
    Programme,
    Project,
    ProjectEvent,
    Transfer,
)
from parcours.finance.rules import (
    ZERO,
    ActionStatus,
    Balance,
    Chapter,
    Measure,
    MovementKind,
    ProjectKind,
    ProjectStatus,
    TransferState,
)
from parcours.finance.schemas import (
    ActionEventOut,
    ActionIn,
    ActionIndicator,
    ActionOut,
    ActionUpdate,
    CounterIn,
    DecisionIn,
    ExecutionReport,
    ExecutionRow,
    LineFile,
    LineIn,
    LineOut,
    Milestone,
    MonthTotals,
    MovementIn,
    MovementOut,
    ProgrammeFile,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammeSummary,
    ProjectEventOut,
    ProjectIn,
    ProjectOut,
    ProjectPortfolio,
    ProjectReportIn,
    Totals,
    TransferIn,
    TransferOut,
    UnitProgress,
    UnitTotals,
)
from parcours.territory import service as territory
from parcours.territory.rules import Status, normalise_code
from parcours.territory.schemas import EstablishmentUpdate
from parcours.territory.service import RowOutcome

LOCAL = ZoneInfo("Africa/Casablanca")
HEADQUARTERS = "Siège du GST"


def today() -> date:
    """The date on the region's calendar."""
    return datetime.now(LOCAL).date()


def system_finance(reason: str = "cli") -> Principal:
    """The identity under which operators, imports and the demo act on the budget."""
    return Principal(0, f"system:{reason}", Role.FINANCE_OFFICER, Scope(ScopeKind.GST), "cli")


# --- places and scope --------------------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """What finance needs of the registry, read once and kept until the registry changes."""

    province_of: dict[str, str]
    names: dict[str, str]

    def name(self, code: str | None) -> str:
        return HEADQUARTERS if code is None else self.names.get(code, code)


def places(session: Session) -> Places:
    return territory.registry_view(session, _load_places)


def _load_places(session: Session) -> Places:
    nodes = territory.network(session)
    return Places(
        province_of={n.code: n.province for n in nodes},
        names={n.code: n.name for n in nodes},
    )


def _covers(principal: Principal, code: str | None, where: Places) -> bool:
    if code is None:
        return principal.scope.kind is ScopeKind.GST
    return principal.scope.covers(code, where.province_of.get(code, ""))


def _scope_filter(principal: Principal, where: Places) -> list[str] | None:
    """The establishments of the principal's scope; None for the whole GST (with the HQ)."""
    if principal.scope.kind is ScopeKind.GST:
        return None
    return sorted(c for c in where.province_of if _covers(principal, c, where))


def _out_of_scope(code: str | None) -> Forbidden:
    return Forbidden(
        "Le budget de {establishment} est hors de votre périmètre.",
        code="out_of_scope",
        establishment=code or HEADQUARTERS,
    )


def _establishment(code: str | None, where: Places) -> str | None:
    if code is None or not code.strip() or code.strip().upper() in ("GST", "SIEGE"):
        return None
    code = normalise_code(code)
    if code not in where.province_of:
        raise NotFound(
            "Établissement introuvable : {establishment}",
            code="establishment_not_found",
            establishment=code,
        )
    return code


# --- budget lines --------------------------------------------------------------------------


def _line_out(line: BudgetLine, where: Places) -> LineOut:
    return LineOut(
        id=line.id,
        year=line.year,
        establishment=line.establishment_code,
        establishment_name=where.name(line.establishment_code),
        chapter=Chapter(line.chapter),
        code=line.code,
        label=line.label,
        allocated=line.allocated,
        committed=line.committed,
        ordered=line.ordered,
        paid=line.paid,
        available=line.allocated - line.committed,
        movements=line.movements,
    )


def _find_line(
    session: Session, year: int, establishment: str | None, code: str
) -> BudgetLine | None:
    query = select(BudgetLine).where(BudgetLine.year == year, BudgetLine.code == code)
    if establishment is None:
        query = query.where(BudgetLine.establishment_code.is_(None))
    else:
        query = query.where(BudgetLine.establishment_code == establishment)
    return session.scalars(query).one_or_none()


def _new_line(session: Session, principal: Principal, data: LineIn, where: Places) -> BudgetLine:
    require(principal, Permission.FINANCE_WRITE)
    establishment = _establishment(data.establishment, where)
    if not _covers(principal, establishment, where):
        raise _out_of_scope(establishment)
    code = data.code.strip().lower()
    try:
        chapter = rules.chapter_of(code)
    except ValueError as exc:
        raise Invalid("Ligne budgétaire inconnue : {line}", code="unknown_line", line=code) from exc
    if _find_line(session, data.year, establishment, code) is not None:
        raise Conflict(
            "La ligne {line} existe déjà pour {establishment} en {year}.",
            code="line_exists",
            line=code,
            establishment=where.name(establishment),
            year=data.year,
        )
    line = BudgetLine(
        year=data.year,
        establishment_code=establishment,
        chapter=chapter.value,
        code=code,
        label=(data.label or rules.line_label(code)).strip(),
        allocated=ZERO,
        committed=ZERO,
        ordered=ZERO,
        paid=ZERO,
        movements=0,
        created_at=utcnow(),
        created_by=principal.username,
    )
    session.add(line)
    session.flush()
    return line


def create_line(
    session: Session, principal: Principal, data: LineIn, *, commit: bool = True
) -> LineOut:
    where = places(session)
    line = _new_line(session, principal, data, where)
    audit.record(session, principal, "finance.line.create", "finance_line", str(line.id))
    out = _line_out(line, where)
    if commit:
        session.commit()
    return out


def _read_line(session: Session, principal: Principal, line_id: int, where: Places) -> BudgetLine:
    require(principal, Permission.FINANCE_READ)
    line = session.get(BudgetLine, line_id)
    if line is None:
        raise NotFound("Ligne budgétaire introuvable.", code="line_not_found")
    if not _covers(principal, line.establishment_code, where):
        raise _out_of_scope(line.establishment_code)
    return line


def _lock_line(session: Session, line_id: int) -> BudgetLine:
    """The line with its totals as committed now, locked until the end of the transaction."""
    query = select(BudgetLine).where(BudgetLine.id == line_id)
    if lock_for_update(session):
        query = query.with_for_update()
    line = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if line is None:
        raise NotFound("Ligne budgétaire introuvable.", code="line_not_found")
    return line


def list_lines(
    session: Session,
    principal: Principal,
    *,
    year: int,
    establishment: str | None = None,
    chapter: Chapter | None = None,
) -> list[LineOut]:
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    query = select(BudgetLine).where(BudgetLine.year == year)
    scope = _scope_filter(principal, where)
    if scope is not None:
        query = query.where(BudgetLine.establishment_code.in_(scope))
    if establishment:
        code = _establishment(establishment, where)
        query = query.where(
            BudgetLine.establishment_code.is_(None)
            if code is None
            else BudgetLine.establishment_code == code
        )
    if chapter is not None:
        query = query.where(BudgetLine.chapter == chapter.value)
    lines = session.scalars(query.order_by(BudgetLine.establishment_code, BudgetLine.code))
    return [_line_out(line, where) for line in lines]


def years(session: Session) -> list[int]:
    return [
        int(y)
        for y in session.scalars(select(BudgetLine.year).distinct().order_by(BudgetLine.year))
    ]


def _movement_out(m: Movement, corrected_by: int | None = None) -> MovementOut:
    kind = MovementKind(m.kind)
    return MovementOut(
        id=m.id,
        line_id=m.line_id,
        kind=kind,
        kind_label=kind.label,
        measure=m.measure,
        delta=m.delta,
        booked_on=m.booked_on,
        reference=m.reference,
        reason=m.reason,
        corrects_id=m.corrects_id,
        corrected_by=corrected_by,
        transfer_id=m.transfer_id,
        recorded_at=m.recorded_at,
        recorded_by=m.recorded_by,
    )


def line_file(
    session: Session, principal: Principal, line_id: int, *, limit: int = 200
) -> LineFile:
    """A line with its latest movements (newest first), each with what corrected it."""
    where = places(session)
    line = _read_line(session, principal, line_id, where)
    movements = list(
        session.scalars(
            select(Movement)
            .where(Movement.line_id == line.id)
            .order_by(Movement.id.desc())
            .limit(limit)
        )
    )
    ids = [m.id for m in movements]
    corrected = dict(
        session.execute(
            select(Movement.corrects_id, Movement.id).where(Movement.corrects_id.in_(ids))
        ).all()
    )
    return LineFile(
        line=_line_out(line, where),
        movements=[_movement_out(m, corrected.get(m.id)) for m in movements],
    )


def _booking_date(year: int, booked_on: date | None) -> date:
    if booked_on is None:
        now = today()
        booked_on = (
            now if now.year == year else date(year, 12, 31) if now.year > year else date(year, 1, 1)
        )
    if booked_on.year != year:
        raise Invalid(
            "La date de l'opération ({day}) n'est pas dans l'exercice {year}.",
            code="outside_year",
            day=booked_on.strftime("%d/%m/%Y"),
            year=year,
        )
    return booked_on


def _add_to_month(
    session: Session, line_id: int, month: int, measure: Measure, delta: Decimal
) -> None:
    row = session.get(LineMonth, (line_id, month))
    if row is None:
        row = LineMonth(
            line_id=line_id, month=month, allocated=ZERO, committed=ZERO, ordered=ZERO, paid=ZERO
        )
        session.add(row)
    setattr(row, measure.value, getattr(row, measure.value) + delta)


def _balance(line: BudgetLine) -> Balance:
    return Balance(line.allocated, line.committed, line.ordered, line.paid)


def _book(
    session: Session,
    principal: Principal,
    line: BudgetLine,
    kind: MovementKind,
    measure: Measure,
    delta: Decimal,
    booked_on: date,
    reason: str,
    reference: str = "",
    corrects_id: int | None = None,
    transfer_id: int | None = None,
) -> Movement:
    """Apply one movement to a locked line: check the invariants, then write the entry, the
    line's totals and the month's totals. Nothing is written when a rule refuses."""
    after = _balance(line).plus(measure, delta)
    refuse(rules.check_balance(after), Conflict)
    movement = Movement(
        line_id=line.id,
        kind=kind.value,
        measure=measure.value,
        delta=delta,
        booked_on=booked_on,
        reference=reference.strip(),
        reason=reason.strip(),
        corrects_id=corrects_id,
        transfer_id=transfer_id,
        recorded_at=utcnow(),
        recorded_by=principal.username,
    )
    session.add(movement)
    setattr(line, measure.value, getattr(line, measure.value) + delta)
    line.movements += 1
    _add_to_month(session, line.id, booked_on.month, measure, delta)
    session.flush()
    return movement


def record_movement(
    session: Session, principal: Principal, line_id: int, data: MovementIn, *, commit: bool = True
) -> MovementOut:
    """Record an allocation, amendment, commitment, de-commitment, payment order or payment.

    A commitment beyond the available credit is refused with the figures (code
    ``credit_exceeded``); so is an order beyond the commitments or a payment beyond the
    orders.
    """
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    _read_line(session, principal, line_id, where)
    if data.kind not in rules.DIRECT_KINDS:
        raise Invalid(
            "Ce type de mouvement ne se saisit pas directement ({kind}).",
            code="indirect_kind",
            kind=data.kind.label,
        )
    amount = rules.money(data.amount)
    refuse(rules.check_amount(data.kind, amount))
    line = _lock_line(session, line_id)
    booked_on = _booking_date(
        line.year,
        # The initial allocation opens the year: booked on 1 January unless told otherwise.
        data.booked_on or (date(line.year, 1, 1) if data.kind is MovementKind.ALLOCATION else None),
    )
    measure, delta = rules.effect(data.kind, amount)
    movement = _book(
        session, principal, line, data.kind, measure, delta, booked_on, data.reason, data.reference
    )
    audit.record(
        session,
        principal,
        f"finance.{data.kind.value}",
        "finance_line",
        str(line.id),
        reason=data.reason,
        details={"movement": movement.id, "amount": str(amount)},
    )
    out = _movement_out(movement)
    if commit:
        session.commit()
    return out


def counter_entry(
    session: Session,
    principal: Principal,
    movement_id: int,
    data: CounterIn,
    *,
    commit: bool = True,
) -> MovementOut:
    """Correct a movement by its exact reverse, which references it; the original stays."""
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    original = session.get(Movement, movement_id)
    if original is None:
        raise NotFound("Mouvement introuvable.", code="movement_not_found")
    _read_line(session, principal, original.line_id, where)
    line = _lock_line(session, original.line_id)
    already = session.scalar(select(Movement.id).where(Movement.corrects_id == original.id))
    refuse(rules.can_counter(MovementKind(original.kind), already is not None), Conflict)
    booked_on = _booking_date(line.year, data.booked_on or None)
    movement = _book(
        session,
        principal,
        line,
        MovementKind.COUNTER_ENTRY,
        Measure(original.measure),
        -original.delta,
        booked_on,
        data.reason,
        original.reference,
        corrects_id=original.id,
    )
    audit.record(
        session,
        principal,
        "finance.counter_entry",
        "finance_line",
        str(line.id),
        reason=data.reason,
        details={"movement": movement.id, "corrects": original.id},
    )
    out = _movement_out(movement)
    if commit:
        session.commit()
    return out


# --- transfers ---------------------------------------------------------------------------


def _transfer_out(t: Transfer, session: Session, where: Places) -> TransferOut:
    state = TransferState(t.state)
    from_line = session.get(BudgetLine, t.from_line_id)
    to_line = session.get(BudgetLine, t.to_line_id)
    assert from_line is not None
    assert to_line is not None
    return TransferOut(
        id=t.id,
        year=t.year,
        from_line=_line_out(from_line, where),
        to_line=_line_out(to_line, where),
        amount=t.amount,
        state=state,
        state_label=state.label,
        reason=t.reason,
        requested_at=t.requested_at,
        requested_by=t.requested_by,
        decided_at=t.decided_at,
        decided_by=t.decided_by,
        decision_reason=t.decision_reason,
    )


def request_transfer(
    session: Session, principal: Principal, data: TransferIn, *, commit: bool = True
) -> TransferOut:
    """Ask to move credit between two lines; nothing moves until someone else approves."""
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    source = _read_line(session, principal, data.from_line, where)
    target = _read_line(session, principal, data.to_line, where)
    amount = rules.money(data.amount)
    refuse(
        rules.check_transfer_request(
            source.id, target.id, source.year == target.year, amount, data.reason
        )
    )
    if amount > source.allocated - source.committed:
        raise Conflict(
            "Crédit disponible insuffisant sur la ligne {line} : {available} pour un virement "
            "de {amount}.",
            code="credit_exceeded",
            line=source.label,
            available=rules.format_amount(source.allocated - source.committed),
            amount=rules.format_amount(amount),
        )
    transfer = Transfer(
        year=source.year,
        from_line_id=source.id,
        to_line_id=target.id,
        amount=amount,
        state=TransferState.REQUESTED.value,
        reason=data.reason.strip(),
        requested_at=utcnow(),
        requested_by=principal.username,
    )
    session.add(transfer)
    session.flush()
    audit.record(
        session,
        principal,
        "finance.transfer.request",
        "finance_transfer",
        str(transfer.id),
        reason=data.reason,
        details={"amount": str(amount), "from": source.id, "to": target.id},
    )
    out = _transfer_out(transfer, session, where)
    if commit:
        session.commit()
    return out


def decide_transfer(
    session: Session,
    principal: Principal,
    transfer_id: int,
    data: DecisionIn,
    *,
    commit: bool = True,
) -> TransferOut:
    """Approve (the credit moves: one movement out, one in) or reject, with a reason."""
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    query = select(Transfer).where(Transfer.id == transfer_id)
    if lock_for_update(session):
        query = query.with_for_update()
    transfer = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if transfer is None:
        raise NotFound("Virement introuvable.", code="transfer_not_found")
    for line_id in (transfer.from_line_id, transfer.to_line_id):
        _read_line(session, principal, line_id, where)
    refuse(
        rules.check_transfer_decision(
            TransferState(transfer.state), transfer.requested_by, principal.username, data.reason
        ),
        Conflict,
    )
    now = utcnow()
    if data.approve:
        # Both lines locked in one order (by id) so that two decisions never wait crosswise.
        locked = {
            i: _lock_line(session, i) for i in sorted({transfer.from_line_id, transfer.to_line_id})
        }
        day = _booking_date(transfer.year, None)
        reason = f"Virement n° {transfer.id} : {transfer.reason}"
        _book(
            session,
            principal,
            locked[transfer.from_line_id],
            MovementKind.TRANSFER_OUT,
            Measure.ALLOCATED,
            -transfer.amount,
            day,
            reason,
            transfer_id=transfer.id,
        )
        _book(
            session,
            principal,
            locked[transfer.to_line_id],
            MovementKind.TRANSFER_IN,
            Measure.ALLOCATED,
            transfer.amount,
            day,
            reason,
            transfer_id=transfer.id,
        )
    transfer.state = (TransferState.APPROVED if data.approve else TransferState.REJECTED).value
    transfer.decided_at = now
    transfer.decided_by = principal.username
    transfer.decision_reason = data.reason.strip()
    session.flush()
    audit.record(
        session,
        principal,
        "finance.transfer.approve" if data.approve else "finance.transfer.reject",
        "finance_transfer",
        str(transfer.id),
        reason=data.reason,
    )
    out = _transfer_out(transfer, session, where)
    if commit:
        session.commit()
    return out


def list_transfers(
    session: Session, principal: Principal, *, state: TransferState | None = None
) -> list[TransferOut]:
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    query = select(Transfer).order_by(Transfer.id.desc()).limit(200)
    if state is not None:
        query = query.where(Transfer.state == state.value)
    out = []
    for t in session.scalars(query):
        source = session.get(BudgetLine, t.from_line_id)
        target = session.get(BudgetLine, t.to_line_id)
        if source is None or target is None:
            continue
        if _covers(principal, source.establishment_code, where) or _covers(
            principal, target.establishment_code, where
        ):
            out.append(_transfer_out(t, session, where))
    return out


# --- execution ---------------------------------------------------------------------------


@dataclass
class _Sums:
    allocated: Decimal = ZERO
    committed: Decimal = ZERO
    ordered: Decimal = ZERO
    paid: Decimal = ZERO

    def add(self, other: _Sums) -> None:
        self.allocated += other.allocated
        self.committed += other.committed
        self.ordered += other.ordered
        self.paid += other.paid

    def totals(self) -> Totals:
        return Totals(
            allocated=self.allocated,
            committed=self.committed,
            ordered=self.ordered,
            paid=self.paid,
            available=self.allocated - self.committed,
            commitment_rate=rules.rate(self.committed, self.allocated),
            execution_rate=rules.rate(self.paid, self.allocated),
        )

    def balance(self) -> Balance:
        return Balance(self.allocated, self.committed, self.ordered, self.paid)


def execution(
    session: Session,
    principal: Principal,
    *,
    year: int,
    establishment: str | None = None,
    through_month: int | None = None,
    as_of: date | None = None,
) -> ExecutionReport:
    """The execution table: by establishment and line, cumulated to the end of
    ``through_month`` (default: the month of ``as_of``, or December for a past year), with
    the months' series for the chart and the alerts. The page, the JSON API and the CSV and
    XLSX exports all read this one function.

    ``establishment``: a code, ``"GST"`` for the headquarters' lines, or None for the whole
    scope. It reads the monthly totals (lines × months), never the ledger.
    """
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    as_of = as_of or today()
    if through_month is None:
        through_month = 12 if as_of.year > year else (as_of.month if as_of.year == year else 12)
    through_month = min(max(through_month, 1), 12)
    end_day = (
        date(year + 1, 1, 1) if through_month == 12 else date(year, through_month + 1, 1)
    ).toordinal() - 1
    elapsed = rules.year_elapsed(year, min(as_of, date.fromordinal(end_day)))

    lines_query = select(
        BudgetLine.id,
        BudgetLine.establishment_code,
        BudgetLine.chapter,
        BudgetLine.code,
        BudgetLine.label,
    ).where(BudgetLine.year == year)
    months_query = (
        select(
            LineMonth.line_id,
            LineMonth.month,
            LineMonth.allocated,
            LineMonth.committed,
            LineMonth.ordered,
            LineMonth.paid,
        )
        .join(BudgetLine, BudgetLine.id == LineMonth.line_id)
        .where(BudgetLine.year == year, LineMonth.month <= through_month)
    )
    scope = _scope_filter(principal, where)
    chosen: str | None = None
    if establishment:
        chosen = _establishment(establishment, where)
        if not _covers(principal, chosen, where):
            raise _out_of_scope(chosen)
        condition = (
            BudgetLine.establishment_code.is_(None)
            if chosen is None
            else BudgetLine.establishment_code == chosen
        )
        lines_query = lines_query.where(condition)
        months_query = months_query.where(condition)
    elif scope is not None:
        lines_query = lines_query.where(BudgetLine.establishment_code.in_(scope))
        months_query = months_query.where(BudgetLine.establishment_code.in_(scope))

    sums: dict[int, _Sums] = defaultdict(_Sums)
    by_month: dict[int, _Sums] = defaultdict(_Sums)
    for line_id, month, allocated, committed, ordered, paid in session.execute(months_query):
        s = sums[line_id]
        s.allocated += allocated
        s.committed += committed
        s.ordered += ordered
        s.paid += paid
        m = by_month[month]
        m.allocated += allocated
        m.committed += committed
        m.ordered += ordered
        m.paid += paid

    rows: list[ExecutionRow] = []
    units: dict[str | None, _Sums] = {}
    unit_alerts: dict[str | None, int] = defaultdict(int)
    chapters: dict[str, _Sums] = {c.value: _Sums() for c in Chapter}
    total = _Sums()
    line_rows = sorted(
        session.execute(lines_query).all(),
        key=lambda r: (r[1] is not None, where.name(r[1]), r[3]),
    )
    for line_id, code_est, chapter, code, label in line_rows:
        s = sums.get(line_id, _Sums())
        alerts = rules.execution_alerts(s.balance(), elapsed)
        rows.append(
            ExecutionRow(
                line_id=line_id,
                establishment=code_est,
                establishment_name=where.name(code_est),
                chapter=Chapter(chapter),
                code=code,
                label=label,
                totals=s.totals(),
                alerts=alerts,
            )
        )
        units.setdefault(code_est, _Sums()).add(s)
        unit_alerts[code_est] += len(alerts)
        chapters[chapter].add(s)
        total.add(s)
    cumulative_committed = ZERO
    cumulative_paid = ZERO
    months: list[MonthTotals] = []
    for month in range(1, through_month + 1):
        m = by_month.get(month, _Sums())
        cumulative_committed += m.committed
        cumulative_paid += m.paid
        months.append(
            MonthTotals(
                month=month,
                allocated=m.allocated,
                committed=m.committed,
                paid=m.paid,
                cumulative_committed=cumulative_committed,
                cumulative_paid=cumulative_paid,
            )
        )
    return ExecutionReport(
        year=year,
        through_month=through_month,
        as_of=as_of,
        elapsed=elapsed,
        establishment=establishment.strip().upper() if establishment else None,
        rows=rows,
        units=[
            UnitTotals(
                establishment=code,
                establishment_name=where.name(code),
                totals=s.totals(),
                alerts=unit_alerts[code],
            )
            for code, s in units.items()
        ],
        chapters={k: v.totals() for k, v in chapters.items()},
        months=months,
        total=total.totals(),
    )


# --- bulk loads (demo, benchmark) ---------------------------------------------------------


@dataclass(frozen=True)
class BulkMovement:
    line_id: int
    kind: MovementKind
    amount: Decimal
    booked_on: date
    reason: str
    reference: str = ""


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


MOVEMENT_COLUMNS = (
    "line_id",
    "kind",
    "measure",
    "delta",
    "booked_on",
    "reference",
    "reason",
    "recorded_at",
    "recorded_by",
)


def bulk_load(
    session: Session,
    principal: Principal,
    movements: Iterable[BulkMovement],
    *,
    batch: int = 20_000,
) -> int:
    """Book many movements at once (the demo's year, the benchmark's million), in the
    caller's transaction, with the same rules as one by one: the lines are locked, every
    line's chain of totals is checked after each movement in booking order, and the line and
    month totals are written once. Returns how many movements went in."""
    require(principal, Permission.FINANCE_WRITE)
    pending = sorted(movements, key=lambda m: (m.booked_on, m.line_id))
    line_ids = sorted({m.line_id for m in pending})
    lines: dict[int, BudgetLine] = {}
    for start in range(0, len(line_ids), 500):
        query = select(BudgetLine).where(BudgetLine.id.in_(line_ids[start : start + 500]))
        if lock_for_update(session):
            query = query.with_for_update()
        for line in session.scalars(query):
            lines[line.id] = line
    balances = {i: _balance(line) for i, line in lines.items()}
    month_rows: dict[tuple[int, int], list[Decimal]] = {}
    for (line_id, month), row in (
        ((r.line_id, r.month), r)
        for r in session.scalars(select(LineMonth).where(LineMonth.line_id.in_(line_ids)))
    ):
        month_rows[(line_id, month)] = [row.allocated, row.committed, row.ordered, row.paid]
    index = {m: i for i, m in enumerate(Measure)}
    table = _table(Movement)
    now = utcnow()
    rows: list[tuple[Any, ...]] = []
    counts: dict[int, int] = defaultdict(int)
    for m in pending:
        target = lines.get(m.line_id)
        if target is None:
            raise NotFound("Ligne budgétaire introuvable.", code="line_not_found")
        if m.booked_on.year != target.year:
            raise Invalid("Mouvement hors exercice.", code="outside_year")
        amount = rules.money(m.amount)
        refuse(rules.check_amount(m.kind, amount))
        measure, delta = rules.effect(m.kind, amount)
        after = balances[m.line_id].plus(measure, delta)
        refuse(rules.check_balance(after), Conflict)
        balances[m.line_id] = after
        sums = month_rows.setdefault((m.line_id, m.booked_on.month), [ZERO] * 4)
        sums[index[measure]] += delta
        counts[m.line_id] += 1
        rows.append(
            (
                m.line_id,
                m.kind.value,
                measure.value,
                delta,
                m.booked_on,
                m.reference,
                m.reason,
                now,
                principal.username,
            )
        )
        if len(rows) >= batch:
            _insert_movements(session, table, rows)
            rows = []
    _insert_movements(session, table, rows)
    for line_id, b in balances.items():
        line = lines[line_id]
        line.allocated, line.committed, line.ordered, line.paid = (
            b.allocated,
            b.committed,
            b.ordered,
            b.paid,
        )
        line.movements += counts.get(line_id, 0)
    existing = {
        (r.line_id, r.month): r
        for r in session.scalars(select(LineMonth).where(LineMonth.line_id.in_(line_ids)))
    }
    for key, values in month_rows.items():
        aggregate = existing.get(key)
        if aggregate is None:
            aggregate = LineMonth(line_id=key[0], month=key[1])
            session.add(aggregate)
        aggregate.allocated, aggregate.committed, aggregate.ordered, aggregate.paid = values
    session.flush()
    audit.record(
        session,
        principal,
        "finance.bulk_load",
        "finance_line",
        None,
        details={"movements": len(pending), "lines": len(line_ids)},
    )
    return len(pending)


def _insert_movements(session: Session, table: Table, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    # COPY on PostgreSQL (Decimal as text); on SQLite a Core insert, which applies the
    # Money type's binding (centimes).
    bulk_store.bulk_insert(session, table, MOVEMENT_COLUMNS, rows)


# --- the budget import -------------------------------------------------------------------

IMPORT_COLUMNS = ("year", "establishment", "line", "amount")


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with the line each starts on (the header is line 1)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise Invalid(
                "Colonnes manquantes : {columns}",
                code="missing_columns",
                columns=", ".join(missing),
            )
        for row in reader:
            yield reader.line_num, row


def _explain(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'ligne'} : valeur invalide"
            for err in exc.errors()
        )
    if isinstance(exc, DomainError):
        return exc.render()
    return str(exc)


def import_rows(
    session: Session, principal: Principal, rows: Iterable[tuple[int, Mapping[str, str]]]
) -> Iterator[RowOutcome]:
    """Import budget rows: ``year, establishment, line, amount[, kind, booked_on, reason,
    label]``. The line is opened when new; the amount is booked as an allocation (default)
    or an amendment. Each row is its own savepoint: bad rows are reported with their line
    and reason, the good ones kept."""
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    for number, row in rows:
        try:
            year = int((row.get("year") or "").strip())
            establishment = _establishment((row.get("establishment") or "").strip() or None, where)
            code = (row.get("line") or "").strip().lower()
            amount = rules.parse_amount(row.get("amount") or "")
            kind = MovementKind((row.get("kind") or "allocation").strip() or "allocation")
            if kind not in (MovementKind.ALLOCATION, MovementKind.AMENDMENT):
                raise ValueError("type de mouvement : allocation ou amendment")
            booked_text = (row.get("booked_on") or "").strip()
            booked_on = date.fromisoformat(booked_text) if booked_text else date(year, 1, 1)
            reason = (row.get("reason") or "").strip() or f"Import du budget {year}"
            with session.begin_nested():
                line = _find_line(session, year, establishment, code)
                status = "updated"
                if line is None:
                    line = _new_line(
                        session,
                        principal,
                        LineIn(
                            year=year,
                            establishment=establishment,
                            code=code,
                            label=(row.get("label") or "").strip() or None,
                        ),
                        where,
                    )
                    status = "created"
                elif not _covers(principal, establishment, where):
                    raise _out_of_scope(establishment)
                record_movement(
                    session,
                    principal,
                    line.id,
                    MovementIn(kind=kind, amount=amount, booked_on=booked_on, reason=reason),
                    commit=False,
                )
            yield RowOutcome(number, status)
        except (ValueError, DomainError) as exc:
            yield RowOutcome(number, "rejected", _explain(exc))
    session.commit()


# --- transitional action programmes -------------------------------------------------------


def _action_out(
    a: Action,
    programme_code: str,
    where: Places,
    as_of: date,
    events: list[ActionEvent] | None = None,
) -> ActionOut:
    status = ActionStatus(a.status)
    late = rules.is_late(status, a.deadline, as_of)
    return ActionOut(
        id=a.id,
        programme_code=programme_code,
        number=a.number,
        title=a.title,
        owner=a.owner,
        establishment=a.establishment_code,
        establishment_name=where.name(a.establishment_code) if a.establishment_code else "Région",
        deadline=a.deadline,
        status=status,
        status_label=status.label,
        progress_pct=a.progress_pct,
        completed_on=a.completed_on,
        late=late,
        days_late=(as_of - a.deadline).days if late else 0,
        milestones=[Milestone(**m) for m in a.milestones],
        indicators=[ActionIndicator(**i) for i in a.indicators],
        funding_lines=list(a.funding_lines),
        version=a.version,
        events=[
            ActionEventOut(
                status=ActionStatus(e.status),
                progress_pct=e.progress_pct,
                note=e.note,
                at=e.at,
                by=e.by,
            )
            for e in (events or [])
        ],
    )


def create_programme(
    session: Session, principal: Principal, data: ProgrammeIn, *, commit: bool = True
) -> ProgrammeOut:
    require(principal, Permission.FINANCE_WRITE)
    if principal.scope.kind is not ScopeKind.GST:
        raise Forbidden(
            "Un programme d'action régional est créé au niveau du GST.", code="regional_only"
        )
    if data.ends_on < data.starts_on:
        raise Invalid("La fin du programme précède son début.", code="invalid_period")
    if session.scalar(select(Programme.id).where(Programme.code == data.code)):
        raise Conflict(
            "Le code {value} est déjà attribué.", code="programme_exists", value=data.code
        )
    programme = Programme(
        code=data.code,
        title=data.title.strip(),
        description=data.description.strip(),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_at=utcnow(),
        created_by=principal.username,
    )
    session.add(programme)
    session.flush()
    audit.record(session, principal, "finance.programme.create", "finance_programme", data.code)
    out = _programme_out(programme, [], today())
    if commit:
        session.commit()
    return out


def _programme(session: Session, code: str) -> Programme:
    programme = session.scalars(
        select(Programme).where(Programme.code == code.strip().upper())
    ).one_or_none()
    if programme is None:
        raise NotFound("Programme introuvable : {value}", code="programme_not_found", value=code)
    return programme


def add_action(
    session: Session,
    principal: Principal,
    programme_code: str,
    data: ActionIn,
    *,
    commit: bool = True,
) -> ActionOut:
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    programme = _programme(session, programme_code)
    establishment = _establishment(data.establishment, where)
    if not _covers(principal, establishment, where):
        raise _out_of_scope(establishment)
    for code in data.funding_lines:
        try:
            rules.chapter_of(code)
        except ValueError as exc:
            raise Invalid(
                "Ligne budgétaire inconnue : {line}", code="unknown_line", line=code
            ) from exc
    number = (
        session.scalar(
            select(func.coalesce(func.max(Action.number), 0)).where(
                Action.programme_id == programme.id
            )
        )
        or 0
    ) + 1
    now = utcnow()
    action = Action(
        programme_id=programme.id,
        number=number,
        title=data.title.strip(),
        owner=data.owner.strip(),
        establishment_code=establishment,
        deadline=data.deadline,
        status=data.status.value,
        progress_pct=100 if data.status is ActionStatus.DONE else data.progress_pct,
        completed_on=today() if data.status is ActionStatus.DONE else None,
        milestones=[m.model_dump(mode="json") for m in data.milestones],
        indicators=[i.model_dump(mode="json") for i in data.indicators],
        funding_lines=list(data.funding_lines),
        version=1,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    session.add(
        ActionEvent(
            action_id=action.id,
            status=action.status,
            progress_pct=action.progress_pct,
            note="Action inscrite au programme",
            at=now,
            by=principal.username,
        )
    )
    audit.record(session, principal, "finance.action.create", "finance_action", str(action.id))
    out = _action_out(action, programme.code, where, today())
    if commit:
        session.commit()
    return out


def update_action(
    session: Session,
    principal: Principal,
    action_id: int,
    data: ActionUpdate,
    *,
    commit: bool = True,
) -> ActionOut:
    """Move an action's status or progress forward, with a note kept in its history."""
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    query = select(Action).where(Action.id == action_id)
    if lock_for_update(session):
        query = query.with_for_update()
    action = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if action is None:
        raise NotFound("Action introuvable.", code="action_not_found")
    if not _covers(principal, action.establishment_code, where):
        raise _out_of_scope(action.establishment_code)
    if data.expected_version is not None and data.expected_version != action.version:
        raise Conflict(
            "L'action a été modifiée entre-temps ; rechargez la page.", code="stale_version"
        )
    refuse(
        rules.check_action_change(
            ActionStatus(action.status), data.status, data.progress_pct, data.note
        ),
        Conflict,
    )
    now = utcnow()
    action.status = data.status.value
    action.progress_pct = data.progress_pct
    action.completed_on = (
        (data.completed_on or today()) if data.status is ActionStatus.DONE else None
    )
    action.version += 1
    action.updated_at = now
    session.add(
        ActionEvent(
            action_id=action.id,
            status=action.status,
            progress_pct=action.progress_pct,
            note=data.note.strip(),
            at=now,
            by=principal.username,
        )
    )
    session.flush()
    audit.record(
        session,
        principal,
        "finance.action.update",
        "finance_action",
        str(action.id),
        reason=data.note,
    )
    code = session.scalar(select(Programme.code).where(Programme.id == action.programme_id)) or ""
    out = _action_out(action, code, where, today())
    if commit:
        session.commit()
    return out


def get_action(session: Session, principal: Principal, action_id: int) -> ActionOut:
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    action = session.get(Action, action_id)
    if action is None:
        raise NotFound("Action introuvable.", code="action_not_found")
    if not _covers(principal, action.establishment_code, where) and (
        action.establishment_code is not None
    ):
        raise _out_of_scope(action.establishment_code)
    events = list(
        session.scalars(
            select(ActionEvent).where(ActionEvent.action_id == action.id).order_by(ActionEvent.id)
        )
    )
    code = session.scalar(select(Programme.code).where(Programme.id == action.programme_id)) or ""
    return _action_out(action, code, where, today(), events)


def _programme_out(p: Programme, actions: list[ActionOut], as_of: date) -> ProgrammeOut:
    _done, due, completion = rules.completion([(a.status, a.deadline) for a in actions], as_of)
    return ProgrammeOut(
        id=p.id,
        code=p.code,
        title=p.title,
        description=p.description,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        actions=len(actions),
        done=sum(1 for a in actions if a.status is ActionStatus.DONE),
        late=sum(1 for a in actions if a.late),
        cancelled=sum(1 for a in actions if a.status is ActionStatus.CANCELLED),
        due=due,
        completion=completion,
        mean_progress=(
            round(sum(a.progress_pct for a in actions) / len(actions)) if actions else 0
        ),
    )


def _visible_actions(
    session: Session, principal: Principal, where: Places, as_of: date
) -> dict[int, list[ActionOut]]:
    codes = dict(session.execute(select(Programme.id, Programme.code)).all())
    out: dict[int, list[ActionOut]] = defaultdict(list)
    for a in session.scalars(select(Action).order_by(Action.programme_id, Action.number)):
        # The region's own actions are visible to everyone who reads the programme.
        if a.establishment_code is not None and not _covers(principal, a.establishment_code, where):
            continue
        out[a.programme_id].append(_action_out(a, codes[a.programme_id], where, as_of))
    return out


def programme_summary(
    session: Session, principal: Principal, *, as_of: date | None = None
) -> ProgrammeSummary:
    """Every programme with its counts, the actions by establishment, and the late ones."""
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    as_of = as_of or today()
    actions = _visible_actions(session, principal, where, as_of)
    programmes = [
        _programme_out(p, actions.get(p.id, []), as_of)
        for p in session.scalars(select(Programme).order_by(Programme.starts_on, Programme.code))
    ]
    units: dict[str | None, UnitProgress] = {}
    late: list[ActionOut] = []
    for group in actions.values():
        for a in group:
            u = units.setdefault(
                a.establishment,
                UnitProgress(
                    establishment=a.establishment,
                    establishment_name=a.establishment_name,
                    actions=0,
                    done=0,
                    late=0,
                ),
            )
            u.actions += 1
            u.done += a.status is ActionStatus.DONE
            u.late += a.late
            if a.late:
                late.append(a)
    return ProgrammeSummary(
        as_of=as_of,
        programmes=programmes,
        units=sorted(
            units.values(), key=lambda u: (u.establishment is not None, u.establishment_name)
        ),
        late=sorted(late, key=lambda a: a.deadline),
    )


def programme_file(
    session: Session, principal: Principal, code: str, *, as_of: date | None = None
) -> ProgrammeFile:
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    as_of = as_of or today()
    programme = _programme(session, code)
    actions = _visible_actions(session, principal, where, as_of).get(programme.id, [])
    return ProgrammeFile(programme=_programme_out(programme, actions, as_of), actions=actions)


# --- reform projects ---------------------------------------------------------------------


def _registry(session: Session, principal: Principal, code: str | None) -> tuple[str | None, int]:
    """The registry's status of the project's establishment and the beds of its services."""
    if code is None:
        return None, 0
    est = territory.get_establishment(session, principal, code)
    return est.status.value, est.beds


def _project_out(
    session: Session,
    principal: Principal,
    p: Project,
    where: Places,
    events: list[ProjectEvent] | None = None,
) -> ProjectOut:
    kind = ProjectKind(p.kind)
    status = ProjectStatus(p.status)
    est_status, beds = _registry(session, principal, p.establishment_code)
    return ProjectOut(
        id=p.id,
        code=p.code,
        title=p.title,
        kind=kind,
        kind_label=kind.label,
        establishment=p.establishment_code,
        establishment_name=where.name(p.establishment_code) if p.establishment_code else "",
        establishment_status=est_status,
        registry_beds=beds,
        beds_planned=p.beds_planned,
        beds_in_service=(
            p.beds_planned
            if status is ProjectStatus.DELIVERED and est_status == Status.OPEN.value
            else 0
        ),
        budget=p.budget,
        spent=p.spent,
        financial_pct=rules.rate(p.spent, p.budget),
        physical_pct=p.physical_pct,
        status=status,
        status_label=status.label,
        planned_start=p.planned_start,
        planned_end=p.planned_end,
        forecast_end=p.forecast_end,
        delivered_on=p.delivered_on,
        delay_days=rules.delay_days(p.planned_end, p.forecast_end),
        version=p.version,
        events=[
            ProjectEventOut(
                status=ProjectStatus(e.status),
                physical_pct=e.physical_pct,
                spent=e.spent,
                forecast_end=e.forecast_end,
                note=e.note,
                at=e.at,
                by=e.by,
            )
            for e in (events or [])
        ],
    )


def create_project(
    session: Session, principal: Principal, data: ProjectIn, *, commit: bool = True
) -> ProjectOut:
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    establishment = _establishment(data.establishment, where)
    if not _covers(principal, establishment, where):
        raise _out_of_scope(establishment)
    if data.kind.is_infrastructure and establishment is None:
        raise Invalid(
            "Un projet d'infrastructure porte sur un établissement du registre.",
            code="establishment_required",
        )
    if data.planned_end < data.planned_start:
        raise Invalid("La fin prévue précède le début.", code="invalid_period")
    if session.scalar(select(Project.id).where(Project.code == data.code)):
        raise Conflict("Le code {value} est déjà attribué.", code="project_exists", value=data.code)
    now = utcnow()
    project = Project(
        code=data.code,
        title=data.title.strip(),
        kind=data.kind.value,
        establishment_code=establishment,
        beds_planned=data.beds_planned,
        budget=rules.money(data.budget),
        spent=ZERO,
        physical_pct=0,
        status=ProjectStatus.PLANNED.value,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        forecast_end=data.forecast_end or data.planned_end,
        version=1,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    audit.record(session, principal, "finance.project.create", "finance_project", data.code)
    out = _project_out(session, principal, project, where)
    if commit:
        session.commit()
    return out


def _registry_delegate(principal: Principal) -> Principal:
    """The finance officer, acting on the registry for one thing only: opening the
    establishment a delivered project built. The delegate keeps the officer's name and
    scope (so the registry's history and the audit say who), with the one right the
    registry asks for (an establishment administrator's ``establishment.update``)."""
    return Principal(
        principal.user_id,
        principal.username,
        Role.ESTABLISHMENT_ADMIN,
        principal.scope,
        principal.channel,
        principal.ip,
    )


def report_project(
    session: Session,
    principal: Principal,
    code: str,
    data: ProjectReportIn,
    *,
    commit: bool = True,
) -> ProjectOut:
    """A progress report (status, physical progress, spending, forecast end). Delivering an
    infrastructure project opens its establishment in the registry, through the registry's
    own use case: from then on its beds count in the region's capacity."""
    require(principal, Permission.FINANCE_WRITE)
    where = places(session)
    query = select(Project).where(Project.code == code.strip().upper())
    if lock_for_update(session):
        query = query.with_for_update()
    project = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if project is None:
        raise NotFound("Projet introuvable : {value}", code="project_not_found", value=code)
    if not _covers(principal, project.establishment_code, where):
        raise _out_of_scope(project.establishment_code)
    if data.expected_version is not None and data.expected_version != project.version:
        raise Conflict(
            "Le projet a été modifié entre-temps ; rechargez la page.", code="stale_version"
        )
    refuse(
        rules.check_project_change(
            ProjectStatus(project.status), data.status, data.physical_pct, data.note
        ),
        Conflict,
    )
    spent = rules.money(data.spent)
    if spent < 0:
        raise Invalid("Les dépenses ne peuvent être négatives.", code="negative_spent")
    now = utcnow()
    delivering = (
        data.status is ProjectStatus.DELIVERED and project.status != ProjectStatus.DELIVERED.value
    )
    project.status = data.status.value
    project.physical_pct = data.physical_pct
    project.spent = spent
    project.forecast_end = data.forecast_end or project.forecast_end
    if delivering:
        project.delivered_on = data.delivered_on or today()
        project.forecast_end = project.delivered_on
    project.version += 1
    project.updated_at = now
    session.add(
        ProjectEvent(
            project_id=project.id,
            status=project.status,
            physical_pct=project.physical_pct,
            spent=spent,
            forecast_end=project.forecast_end,
            note=data.note.strip(),
            at=now,
            by=principal.username,
        )
    )
    session.flush()
    if delivering and project.establishment_code and ProjectKind(project.kind).is_infrastructure:
        est_status, _beds = _registry(session, principal, project.establishment_code)
        if est_status in (Status.PLANNED.value, Status.UNDER_CONSTRUCTION.value):
            territory.update_establishment(
                session,
                _registry_delegate(principal),
                project.establishment_code,
                EstablishmentUpdate(
                    status=Status.OPEN,
                    opened_on=project.delivered_on,
                    reason=f"Livraison du projet {project.code} : {data.note.strip()}",
                ),
                commit=False,
            )
    audit.record(
        session,
        principal,
        "finance.project.report",
        "finance_project",
        project.code,
        reason=data.note,
        details={"status": project.status, "physical": project.physical_pct},
    )
    out = _project_out(session, principal, project, where)
    if commit:
        session.commit()
    return out


def get_project(session: Session, principal: Principal, code: str) -> ProjectOut:
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    project = session.scalars(
        select(Project).where(Project.code == code.strip().upper())
    ).one_or_none()
    if project is None:
        raise NotFound("Projet introuvable : {value}", code="project_not_found", value=code)
    events = list(
        session.scalars(
            select(ProjectEvent)
            .where(ProjectEvent.project_id == project.id)
            .order_by(ProjectEvent.id)
        )
    )
    return _project_out(session, principal, project, where, events)


def portfolio(session: Session, principal: Principal) -> ProjectPortfolio:
    """The reform projects with the registry's view of each, and the region's capacity."""
    require(principal, Permission.FINANCE_READ)
    where = places(session)
    projects = [
        _project_out(session, principal, p, where)
        for p in session.scalars(select(Project).order_by(Project.planned_end, Project.code))
    ]
    return ProjectPortfolio(
        projects=projects,
        budget=sum((p.budget for p in projects), ZERO),
        spent=sum((p.spent for p in projects), ZERO),
        beds_planned=sum(p.beds_planned for p in projects),
        beds_delivered=sum(p.beds_in_service for p in projects),
        capacity_beds=territory.summary(session, principal).beds,
    )
