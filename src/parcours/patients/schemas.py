"""What enters and leaves the master patient index (API, pages, CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class RecordIn(BaseModel):
    """A registration as an admission desk types it (the MPI's CSV columns)."""

    record_id: str | None = Field(default=None, max_length=64)
    establishment: str | None = Field(default=None, max_length=40)
    local_id: str | None = Field(default=None, max_length=64)
    cin: str | None = Field(default=None, max_length=32)
    amo_number: str | None = Field(default=None, max_length=32)
    given_name: str | None = Field(default=None, max_length=120)
    family_name: str | None = Field(default=None, max_length=120)
    given_name_ar: str | None = Field(default=None, max_length=120)
    family_name_ar: str | None = Field(default=None, max_length=120)
    sex: str | None = Field(default=None, max_length=10)
    birth_date: str | None = Field(
        default=None, max_length=10, description="YYYY-MM-DD, YYYY-MM, YYYY"
    )
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    commune: str | None = Field(default=None, max_length=120)


class FieldContributionOut(BaseModel):
    field: str
    label: str
    level_label: str
    bits: float


class CandidateOut(BaseModel):
    person_id: str
    record_key: str
    establishment: str | None
    display_name: str
    sex: str | None
    birth_date: str | None
    probability: float
    weight: float
    decision: str
    rule: str
    rule_label: str
    fields: list[FieldContributionOut]


class Registration(BaseModel):
    record_key: str
    person_id: str
    decision: Literal["link", "review", "new"]
    candidates: list[CandidateOut]


class RecordOut(BaseModel):
    record_key: str
    person_id: str | None
    establishment: str | None
    local_id: str | None
    cin: str | None
    amo_number: str | None
    given_name: str | None
    family_name: str | None
    given_name_ar: str | None
    family_name_ar: str | None
    sex: str | None
    birth_date: str | None
    birth_precision: str | None
    phone: str | None
    address: str | None
    commune: str | None
    registered_at: datetime
    registered_by: str


class LinkEventOut(BaseModel):
    id: int
    record_key: str
    person_id: str
    action: Literal["link", "unlink"]
    score: float | None
    rule: str
    actor: str
    at: datetime
    reason: str | None
    undoes_event_id: int | None
    batch_id: str | None


class IdentifierOut(BaseModel):
    kind: Literal["cin", "amo", "local_id"]
    value: str
    establishment: str | None = None


class PersonBrief(BaseModel):
    person_id: str
    display_name: str
    display_name_ar: str | None
    sex: str | None
    birth_date: str | None
    birth_precision: str | None
    establishments: list[str]
    records: int
    score: float | None


class PersonPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[PersonBrief]


class PersonOut(BaseModel):
    person_id: str
    status: str
    display_name: str
    display_name_ar: str | None
    sex: str | None
    birth_date: str | None
    birth_precision: str | None
    identifiers: list[IdentifierOut]
    records: list[RecordOut]
    history: list[LinkEventOut]
    open_reviews: int


class ReviewOut(BaseModel):
    id: int
    status: Literal["open", "linked", "kept_apart"]
    score: float
    probability: float
    rule: str
    rule_label: str
    record: RecordOut
    candidate: RecordOut
    candidate_person_id: str
    fields: list[FieldContributionOut]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


class ReviewPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[ReviewOut]


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class LinkIn(ReasonIn):
    record_key: str = Field(min_length=1, max_length=64)


class DecisionIn(ReasonIn):
    decision: Literal["link", "keep_apart"]


class ModelInfo(BaseModel):
    version: int
    records: int
    prior: float
    households: bool
    trained_at: datetime


class DedupeReport(BaseModel):
    batch_id: str
    records: int
    newly_linked: int
    new_persons: int
    joined_existing: int
    reviews: int
    candidate_pairs: int
    seconds: dict[str, float]
