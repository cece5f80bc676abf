"""What enters and leaves the workforce context (JSON API, pages, import, demo)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from parcours.workforce.rules import (
    Category,
    DutyKind,
    EmploymentStatus,
    Initiator,
    MobilityAction,
    MobilityKind,
    MobilityState,
    Opinion,
    Sex,
)


class QualificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    institution: str = Field(default="", max_length=200)
    obtained_on: date


class QualificationOut(QualificationIn):
    id: int
    recorded_at: datetime
    recorded_by: str


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    establishment: str = Field(min_length=3, max_length=40)
    service: str = Field(default="", max_length=40)
    share: int = Field(default=100, ge=1, le=100)
    start_on: date
    end_on: date | None = None


class ProfessionalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inpe: str | None = Field(default=None, max_length=20)
    cin: str | None = Field(default=None, max_length=12)
    family_name: str = Field(min_length=1, max_length=120)
    given_name: str = Field(min_length=1, max_length=120)
    family_name_ar: str | None = Field(default=None, max_length=120)
    given_name_ar: str | None = Field(default=None, max_length=120)
    sex: Sex
    birth_date: date | None = None
    category: Category
    specialty: str | None = Field(default=None, max_length=40)
    grade: str = Field(default="", max_length=80)
    status: EmploymentStatus = EmploymentStatus.TENURED
    hired_on: date | None = None
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=120)
    qualifications: list[QualificationIn] = Field(default_factory=list)
    # The first assignment, given with the registration (required from an establishment).
    assignment: AssignmentIn | None = None


class ProfessionalUpdate(BaseModel):
    """A partial update: only the fields sent change; ``reason`` is kept in the history."""

    model_config = ConfigDict(extra="forbid")

    inpe: str | None = Field(default=None, max_length=20)
    cin: str | None = Field(default=None, max_length=12)
    family_name: str | None = Field(default=None, min_length=1, max_length=120)
    given_name: str | None = Field(default=None, min_length=1, max_length=120)
    family_name_ar: str | None = Field(default=None, max_length=120)
    given_name_ar: str | None = Field(default=None, max_length=120)
    sex: Sex | None = None
    birth_date: date | None = None
    category: Category | None = None
    specialty: str | None = Field(default=None, max_length=40)
    grade: str | None = Field(default=None, max_length=80)
    status: EmploymentStatus | None = None
    hired_on: date | None = None
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=120)
    reason: str | None = Field(default=None, max_length=1000)


class AssignmentEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_on: date
    reason: str = Field(min_length=1, max_length=1000)


class AssignmentOut(BaseModel):
    id: int
    professional_id: int
    establishment: str
    establishment_name: str
    province: str
    service: str
    service_name: str
    share: int
    start_on: date
    end_on: date | None
    origin: str
    active: bool
    end_reason: str | None = None


class ProfessionalBrief(BaseModel):
    id: int
    inpe: str | None
    family_name: str
    given_name: str
    sex: Sex
    category: Category
    category_label: str
    specialty: str | None
    status: EmploymentStatus
    main_establishment: str | None = None
    main_establishment_name: str | None = None


class ProfessionalPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[ProfessionalBrief]


class VersionOut(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str
    change: str
    reason: str | None
    changes: dict[str, list[object]]


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    professional_id: int
    establishment: str = Field(min_length=3, max_length=40)
    service: str = Field(default="", max_length=40)
    kind: DutyKind = DutyKind.ON_SITE
    starts_at: datetime
    ends_at: datetime


class ShiftCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class ShiftOut(BaseModel):
    id: int
    professional_id: int
    professional_name: str
    category: Category
    establishment: str
    service: str
    kind: DutyKind
    starts_at: datetime
    ends_at: datetime
    is_night: bool


class RosterOut(BaseModel):
    establishment: str
    establishment_name: str
    service: str
    service_name: str
    month: str
    shifts: list[ShiftOut]
    staff: list[ProfessionalBrief]


class MobilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    professional_id: int
    kind: MobilityKind = MobilityKind.TRANSFER
    initiator: Initiator = Initiator.ESTABLISHMENT
    from_establishment: str | None = Field(default=None, max_length=40)
    to_establishment: str = Field(min_length=3, max_length=40)
    to_service: str = Field(default="", max_length=40)
    share: int = Field(default=100, ge=1, le=100)
    wished_on: date | None = None
    motive: str = Field(min_length=1, max_length=2000)


class MobilityStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: MobilityAction
    opinion: Opinion | None = None
    effective_on: date | None = None
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


class MobilityEventOut(BaseModel):
    action: MobilityAction
    action_label: str
    from_state: MobilityState | None
    to_state: MobilityState
    establishment: str | None
    opinion: Opinion | None
    actor: str
    at: datetime
    reason: str | None
    days_since_request: float


class MobilityOut(BaseModel):
    id: int
    professional_id: int
    professional_name: str
    category: Category
    specialty: str | None
    kind: MobilityKind
    initiator: Initiator
    from_establishment: str
    from_establishment_name: str
    from_service: str
    to_establishment: str
    to_establishment_name: str
    to_service: str
    share: int
    wished_on: date | None
    motive: str
    state: MobilityState
    state_label: str
    version: int
    submitted_at: datetime
    submitted_by: str
    opinion_deadline: datetime
    releasing_opinion: Opinion | None
    receiving_opinion: Opinion | None
    decided_at: datetime | None
    effective_on: date | None
    decision_days: float | None
    allowed_actions: list[MobilityAction]
    events: list[MobilityEventOut] = Field(default_factory=list)


class DelayStatsOut(BaseModel):
    decided: int
    median_days: float | None
    p90_days: float | None
    within_target: float | None
    target_days: int
    open_requests: int


class NormLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    establishment_type: str = Field(max_length=30)
    service: str = Field(default="", max_length=40)
    category: Category
    required: float = Field(ge=0, le=1000)


class NormVersionIn(BaseModel):
    """A new version: the lines that change from the current one (``required`` 0 removes)."""

    model_config = ConfigDict(extra="forbid")

    valid_from: date
    reason: str = Field(min_length=1, max_length=2000)
    changes: list[NormLineIn] = Field(min_length=1)


class NormVersionOut(BaseModel):
    number: int
    valid_from: date
    based_on: int | None
    created_at: datetime
    created_by: str
    reason: str
    lines: int


class GapLineOut(BaseModel):
    establishment: str
    province: str
    service: str
    category: Category
    required: float
    present: float
    gap: float


class TotalsOut(BaseModel):
    required: float
    present: float
    deficit: float
    surplus: float
    gap: float
    lines_below: int


class EstablishmentGapOut(TotalsOut):
    establishment: str
    name: str
    type: str
    province: str


class DensityOut(BaseModel):
    area: str
    name: str
    population: int
    physicians: int
    nurses: int
    midwives: int
    total: int
    density: float | None
    threshold: float


class GapReport(BaseModel):
    norms_version: int
    as_of: date
    service: str | None
    category: Category | None
    region: TotalsOut
    by_province: dict[str, TotalsOut]
    by_category: dict[str, TotalsOut]
    establishments: list[EstablishmentGapOut]
    lines: list[GapLineOut]


class ProjectionYearOut(BaseModel):
    year: int
    physicians: int
    nurses: int
    midwives: int
    retirements: int
    recruitments: int
    population: int
    density: float | None


class OverviewOut(BaseModel):
    as_of: date
    professionals: int
    assigned: int
    by_category: dict[str, int]
    by_province: dict[str, dict[str, int]]
    density: list[DensityOut]
    threshold: float
    projection: list[ProjectionYearOut]
    needed_2030: int
    hires_per_year: dict[str, float]
    mobility: DelayStatsOut


class ProfessionalFile(BaseModel):
    """The professional's file: who, where, on call when, moving where, and the history."""

    id: int
    inpe: str | None
    cin: str | None
    family_name: str
    given_name: str
    family_name_ar: str | None
    given_name_ar: str | None
    sex: Sex
    birth_date: date | None
    age: int | None
    retires_on: date | None
    category: Category
    category_label: str
    specialty: str | None
    specialty_name: str | None
    grade: str
    status: EmploymentStatus
    hired_on: date | None
    phone: str
    email: str
    version: int
    total_share: int
    qualifications: list[QualificationOut]
    assignments: list[AssignmentOut]
    shifts: list[ShiftOut]
    mobility: list[MobilityOut]
    history: list[VersionOut]
