"""What enters and leaves the finance context (JSON API, pages, import, exports).

Amounts are ``Decimal`` with two decimals; in JSON they travel as strings ("1234.50") so
that no client turns them into floats on the way.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from parcours.finance.rules import (
    ActionStatus,
    AlertKind,
    Chapter,
    MovementKind,
    ProjectKind,
    ProjectStatus,
    TransferState,
)


def _no_float(value: object) -> object:
    """A float is not an exact amount (0.1 is not one tenth): amounts come as strings."""
    if isinstance(value, float):
        raise ValueError("montant en nombre flottant refusé : envoyez une chaîne (« 1234.50 »)")
    return value


Amount = Annotated[Decimal, BeforeValidator(_no_float), Field(max_digits=16, decimal_places=2)]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    # None: the GST's headquarters (regional lines).
    establishment: str | None = Field(default=None, max_length=40)
    code: str = Field(min_length=3, max_length=40)
    label: str | None = Field(default=None, max_length=200)


class LineOut(BaseModel):
    id: int
    year: int
    establishment: str | None
    establishment_name: str
    chapter: Chapter
    code: str
    label: str
    allocated: Decimal
    committed: Decimal
    ordered: Decimal
    paid: Decimal
    available: Decimal
    movements: int


class MovementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: MovementKind
    amount: Amount
    booked_on: date | None = None
    reference: str = Field(default="", max_length=80)
    reason: str = Field(min_length=3, max_length=2000)


class CounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000)
    booked_on: date | None = None


class MovementOut(BaseModel):
    id: int
    line_id: int
    kind: MovementKind
    kind_label: str
    measure: str
    delta: Decimal
    booked_on: date
    reference: str
    reason: str
    corrects_id: int | None
    corrected_by: int | None = None
    transfer_id: int | None
    recorded_at: datetime
    recorded_by: str


class LineFile(BaseModel):
    line: LineOut
    movements: list[MovementOut]


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_line: int
    to_line: int
    amount: Amount
    reason: str = Field(min_length=3, max_length=2000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(min_length=3, max_length=2000)


class TransferOut(BaseModel):
    id: int
    year: int
    from_line: LineOut
    to_line: LineOut
    amount: Decimal
    state: TransferState
    state_label: str
    reason: str
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


# --- execution -----------------------------------------------------------------------


class Totals(BaseModel):
    allocated: Decimal
    committed: Decimal
    ordered: Decimal
    paid: Decimal
    available: Decimal
    commitment_rate: Decimal | None
    execution_rate: Decimal | None


class ExecutionRow(BaseModel):
    line_id: int
    establishment: str | None
    establishment_name: str
    chapter: Chapter
    code: str
    label: str
    totals: Totals
    alerts: list[AlertKind]


class MonthTotals(BaseModel):
    month: int
    allocated: Decimal
    committed: Decimal
    paid: Decimal
    cumulative_committed: Decimal
    cumulative_paid: Decimal


class UnitTotals(BaseModel):
    establishment: str | None
    establishment_name: str
    totals: Totals
    alerts: int


class ExecutionReport(BaseModel):
    year: int
    through_month: int
    as_of: date
    elapsed: Decimal
    establishment: str | None
    rows: list[ExecutionRow]
    units: list[UnitTotals]
    chapters: dict[str, Totals]
    months: list[MonthTotals]
    total: Totals


# --- programmes ------------------------------------------------------------------------


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    due: date
    done: bool = False


class ActionIndicator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    target: str = Field(default="", max_length=80)
    value: str = Field(default="", max_length=80)


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=30, pattern=r"^[A-Z0-9-]+$")
    title: str = Field(min_length=3, max_length=250)
    description: str = Field(default="", max_length=4000)
    starts_on: date
    ends_on: date


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=300)
    owner: str = Field(min_length=2, max_length=200)
    establishment: str | None = Field(default=None, max_length=40)
    deadline: date
    status: ActionStatus = ActionStatus.PLANNED
    progress_pct: int = Field(default=0, ge=0, le=100)
    milestones: list[Milestone] = Field(default_factory=list)
    indicators: list[ActionIndicator] = Field(default_factory=list)
    funding_lines: list[str] = Field(default_factory=list)


class ActionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ActionStatus
    progress_pct: int = Field(ge=0, le=100)
    note: str = Field(min_length=3, max_length=2000)
    completed_on: date | None = None
    expected_version: int | None = None


class ActionEventOut(BaseModel):
    status: ActionStatus
    progress_pct: int
    note: str
    at: datetime
    by: str


class ActionOut(BaseModel):
    id: int
    programme_code: str
    number: int
    title: str
    owner: str
    establishment: str | None
    establishment_name: str
    deadline: date
    status: ActionStatus
    status_label: str
    progress_pct: int
    completed_on: date | None
    late: bool
    days_late: int
    milestones: list[Milestone]
    indicators: list[ActionIndicator]
    funding_lines: list[str]
    version: int
    events: list[ActionEventOut] = Field(default_factory=list)


class ProgrammeOut(BaseModel):
    id: int
    code: str
    title: str
    description: str
    starts_on: date
    ends_on: date
    actions: int
    done: int
    late: int
    cancelled: int
    due: int
    completion: Decimal | None
    mean_progress: int


class ProgrammeFile(BaseModel):
    programme: ProgrammeOut
    actions: list[ActionOut]


class UnitProgress(BaseModel):
    establishment: str | None
    establishment_name: str
    actions: int
    done: int
    late: int


class ProgrammeSummary(BaseModel):
    as_of: date
    programmes: list[ProgrammeOut]
    units: list[UnitProgress]
    late: list[ActionOut]


# --- projects --------------------------------------------------------------------------


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=30, pattern=r"^[A-Z0-9-]+$")
    title: str = Field(min_length=3, max_length=250)
    kind: ProjectKind
    establishment: str | None = Field(default=None, max_length=40)
    beds_planned: int = Field(default=0, ge=0, le=5000)
    budget: Amount
    planned_start: date
    planned_end: date
    forecast_end: date | None = None


class ProjectReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ProjectStatus
    physical_pct: int = Field(ge=0, le=100)
    spent: Amount
    forecast_end: date | None = None
    delivered_on: date | None = None
    note: str = Field(min_length=3, max_length=2000)
    expected_version: int | None = None


class ProjectEventOut(BaseModel):
    status: ProjectStatus
    physical_pct: int
    spent: Decimal
    forecast_end: date | None
    note: str
    at: datetime
    by: str


class ProjectOut(BaseModel):
    id: int
    code: str
    title: str
    kind: ProjectKind
    kind_label: str
    establishment: str | None
    establishment_name: str
    # What the registry says of the establishment: its status and the beds of its services.
    establishment_status: str | None
    registry_beds: int
    beds_planned: int
    # The beds the project adds that count in the capacity (the establishment is in service).
    beds_in_service: int
    budget: Decimal
    spent: Decimal
    financial_pct: Decimal | None
    physical_pct: int
    status: ProjectStatus
    status_label: str
    planned_start: date
    planned_end: date
    forecast_end: date | None
    delivered_on: date | None
    delay_days: int
    version: int
    events: list[ProjectEventOut] = Field(default_factory=list)


class ProjectPortfolio(BaseModel):
    projects: list[ProjectOut]
    budget: Decimal
    spent: Decimal
    beds_planned: int
    beds_delivered: int
    capacity_beds: int
