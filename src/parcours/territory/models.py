"""Tables of the territory context."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.db import Base, UtcDateTime


class Region(Base):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    capital: Mapped[str] = mapped_column(String(80))
    population_2024: Mapped[int] = mapped_column()


class Province(Base):
    """A province or prefecture (the reform's intermediate organisational unit)."""

    __tablename__ = "province"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    chef_lieu: Mapped[str] = mapped_column(String(80))
    population_2014: Mapped[int] = mapped_column()
    population_2024: Mapped[int] = mapped_column()
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Commune(Base):
    """A town or rural commune, where establishments stand."""

    __tablename__ = "commune"
    __table_args__ = (UniqueConstraint("province_code", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("province.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    urban: Mapped[bool] = mapped_column()
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Specialty(Base):
    __tablename__ = "specialty"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    hospital_only: Mapped[bool] = mapped_column()
    sort_order: Mapped[int] = mapped_column()


class Establishment(Base):
    __tablename__ = "establishment"
    __table_args__ = (
        Index("ix_establishment_type_province", "type", "province_code"),
        Index("ix_establishment_category", "category"),
        Index("ix_establishment_search_name", "search_name"),
        # The list's order, so that a page is read from the index instead of a full sort.
        Index("ix_establishment_listing", text("care_level DESC"), "name", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str | None] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(20))
    care_level: Mapped[int] = mapped_column()
    province_code: Mapped[str] = mapped_column(ForeignKey("province.code"), index=True)
    town: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    catchment_population: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(30), index=True)
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    planned_opening_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    services: Mapped[list[EstablishmentService]] = relationship(
        back_populates="establishment",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="EstablishmentService.specialty_code",
    )


class EstablishmentService(Base):
    """A specialty offered by an establishment, with its beds (hospitals, some centres)."""

    __tablename__ = "establishment_service"
    # "Who offers this specialty": the filter of the list and, later, of routing.
    __table_args__ = (
        Index("ix_establishment_service_specialty", "specialty_code", "establishment_id"),
    )

    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishment.id"), primary_key=True)
    specialty_code: Mapped[str] = mapped_column(ForeignKey("specialty.code"), primary_key=True)
    beds: Mapped[int] = mapped_column(default=0)

    establishment: Mapped[Establishment] = relationship(back_populates="services")


class EstablishmentVersion(Base):
    """A full snapshot per version: the history of an establishment, never rewritten."""

    __tablename__ = "establishment_version"
    __table_args__ = (UniqueConstraint("establishment_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishment.id"), index=True)
    version: Mapped[int] = mapped_column()
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_by: Mapped[str] = mapped_column(String(120))
    change: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
