"""What enters and leaves the territory context."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parcours.territory.rules import EstablishmentType, Status


class ServiceIn(BaseModel):
    specialty: str = Field(max_length=40)
    beds: int = Field(default=0, ge=0, le=5000)


class EstablishmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=3, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    name_ar: str | None = Field(default=None, max_length=200)
    type: EstablishmentType
    province: str = Field(max_length=8)
    town: str = Field(default="", max_length=120)
    address: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=40)
    latitude: float | None = None
    longitude: float | None = None
    catchment_population: int | None = Field(default=None, ge=0)
    status: Status = Status.OPEN
    opened_on: date | None = None
    closed_on: date | None = None
    planned_opening_on: date | None = None
    services: list[ServiceIn] = Field(default_factory=list)


class EstablishmentUpdate(BaseModel):
    """A partial update: only the fields sent change; ``reason`` is kept in the history."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_ar: str | None = Field(default=None, max_length=200)
    type: EstablishmentType | None = None
    province: str | None = Field(default=None, max_length=8)
    town: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=40)
    latitude: float | None = None
    longitude: float | None = None
    catchment_population: int | None = Field(default=None, ge=0)
    status: Status | None = None
    opened_on: date | None = None
    planned_opening_on: date | None = None
    services: list[ServiceIn] | None = None
    reason: str | None = Field(default=None, max_length=1000)


class CloseIn(BaseModel):
    closed_on: date
    reason: str = Field(min_length=3, max_length=1000)


class ServiceOut(BaseModel):
    specialty: str
    specialty_name: str
    beds: int


class EstablishmentOut(BaseModel):
    code: str
    name: str
    name_ar: str | None
    type: EstablishmentType
    type_label: str
    category: str
    care_level: int
    province: str
    province_name: str
    town: str
    address: str
    phone: str
    latitude: float | None
    longitude: float | None
    catchment_population: int | None
    status: Status
    status_label: str
    opened_on: date | None
    closed_on: date | None
    planned_opening_on: date | None
    version: int
    updated_at: datetime
    beds: int
    services: list[ServiceOut]


class EstablishmentBrief(BaseModel):
    code: str
    name: str
    type: EstablishmentType
    type_label: str
    category: str
    care_level: int
    province: str
    town: str
    status: Status
    latitude: float | None
    longitude: float | None
    beds: int


class Page(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[EstablishmentBrief]


class VersionOut(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str
    change: str
    reason: str | None
    changes: dict[str, list[Any]]


class Summary(BaseModel):
    gst: str
    total: int
    by_category: dict[str, int]
    by_type: dict[str, int]
    by_care_level: dict[str, int]
    by_province: dict[str, int]
    by_status: dict[str, int]
    beds: int
    population: int


class ProvinceOut(BaseModel):
    code: str
    name: str
    kind: str
    chef_lieu: str
    population_2024: int
    latitude: float
    longitude: float


class SpecialtyOut(BaseModel):
    code: str
    name: str
    hospital_only: bool
