"""What enters and leaves the indicators' JSON API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from parcours.indicators.rules import Dimension, Direction, Theme


class DefinitionIn(BaseModel):
    """A new indicator: expressions over the catalogue of measures, never SQL."""

    code: str = Field(min_length=1, max_length=40, examples=["REF_URGENTES"])
    name: str = Field(min_length=1, max_length=200)
    definition: str = Field(default="", max_length=4000)
    numerator: str = Field(min_length=1, max_length=500, examples=["count(referral_received)"])
    denominator: str | None = Field(default=None, max_length=500)
    unit: str = Field(default="", max_length=30)
    scale: float = Field(default=1.0, gt=0)
    direction: Direction = Direction.HIGHER
    theme: Theme = Theme.PATHWAYS
    target: float | None = None
    dimensions: list[Dimension] = Field(default_factory=list)


class DefinitionOut(DefinitionIn):
    shipped: bool
    about_persons: bool
    measures: list[str]
    created_by: str


class ValueOut(BaseModel):
    indicator: str
    name: str
    unit: str
    level: str
    unit_code: str
    period: str
    value: float | None = Field(description="absent when there is no data or fewer than 5 persons")
    suppressed: bool
    target: float | None
    direction: Direction


class MemberValueOut(BaseModel):
    member: str
    value: float | None
    suppressed: bool


class RefreshOut(BaseModel):
    full: bool
    facts: dict[str, int]
    stays_closed: int
    seconds: float


class MeasureOut(BaseModel):
    code: str
    label: str
    source: str
    unit: str
    counted_at: str
    distribution: bool
    dimensions: list[str]
    about_persons: bool
