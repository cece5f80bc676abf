"""Tables of the workforce context.

Shaped to map onto FHIR: ``workforce_professional`` is a Practitioner (INPE as
its identifier, qualifications as ``qualification``), ``workforce_assignment``
a PractitionerRole (organization, specialty, period; the share of time as an
extension). Nothing is deleted: a professional's changes are versions, an
assignment ends with who/when/why, a duty is cancelled, a mobility request
moves forward through append-only events, and the norms are versions.
"""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from parcours.db import Base, UtcDateTime


class Professional(Base):
    __tablename__ = "workforce_professional"
    __table_args__ = (
        Index("ix_workforce_professional_search", "search_name"),
        Index("ix_workforce_professional_category", "category", "specialty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inpe: Mapped[str | None] = mapped_column(String(12), unique=True)
    cin: Mapped[str | None] = mapped_column(String(12))
    family_name: Mapped[str] = mapped_column(String(120))
    given_name: Mapped[str] = mapped_column(String(120))
    family_name_ar: Mapped[str | None] = mapped_column(String(120))
    given_name_ar: Mapped[str | None] = mapped_column(String(120))
    search_name: Mapped[str] = mapped_column(String(250))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(30))
    specialty: Mapped[str | None] = mapped_column(ForeignKey("specialty.code"))
    grade: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(20))
    hired_on: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProfessionalVersion(Base):
    """A full snapshot per version of a professional: the history, never rewritten."""

    __tablename__ = "workforce_professional_version"
    __table_args__ = (UniqueConstraint("professional_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_professional.id"), index=True
    )
    version: Mapped[int] = mapped_column()
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_by: Mapped[str] = mapped_column(String(120))
    change: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)


class Qualification(Base):
    """A diploma or title with its date (FHIR Practitioner.qualification); added, never edited."""

    __tablename__ = "workforce_qualification"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_professional.id"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    institution: Mapped[str] = mapped_column(String(200), default="")
    obtained_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(120))


class Assignment(Base):
    """A professional at an establishment's service for a share of time (PractitionerRole)."""

    __tablename__ = "workforce_assignment"
    __table_args__ = (
        # The gap computation reads this index alone: the shares of time active on a day,
        # grouped by establishment, service and category, in the index's order.
        Index(
            "ix_workforce_assignment_staffing",
            "establishment_code",
            "service",
            "category",
            "start_on",
            "end_on",
            "share",
        ),
        Index("ix_workforce_assignment_establishment", "establishment_code", "start_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_professional.id"), index=True
    )
    establishment_code: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    service: Mapped[str] = mapped_column(String(40), default="")
    # The category the professional serves in (FHIR PractitionerRole.code): copied from
    # the professional when the assignment is made, carried to the current and future
    # assignments when the category changes; past ones keep the one they had.
    category: Mapped[str] = mapped_column(String(30))
    share: Mapped[int] = mapped_column()
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    origin: Mapped[str] = mapped_column(String(40), default="manual")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(120))
    end_reason: Mapped[str | None] = mapped_column(Text)


class Shift(Base):
    """One duty of an on-call roster (garde on site, astreinte at home)."""

    __tablename__ = "workforce_shift"
    __table_args__ = (
        Index("ix_workforce_shift_roster", "establishment_code", "service", "starts_at"),
        Index("ix_workforce_shift_professional", "professional_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("workforce_professional.id"))
    establishment_code: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    service: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(120))
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class MobilityRequest(Base):
    """A request to move or share a professional between establishments of the GST."""

    __tablename__ = "workforce_mobility_request"
    __table_args__ = (
        Index("ix_workforce_mobility_state", "state", "submitted_at"),
        Index("ix_workforce_mobility_from", "from_establishment", "state"),
        Index("ix_workforce_mobility_to", "to_establishment", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_professional.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    initiator: Mapped[str] = mapped_column(String(20))
    from_establishment: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    from_service: Mapped[str] = mapped_column(String(40), default="")
    to_establishment: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    to_service: Mapped[str] = mapped_column(String(40), default="")
    share: Mapped[int] = mapped_column(default=100)
    wished_on: Mapped[date | None] = mapped_column(Date)
    motive: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_by: Mapped[str] = mapped_column(String(120))
    releasing_opinion: Mapped[str | None] = mapped_column(String(20))
    receiving_opinion: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    effective_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MobilityEvent(Base):
    """One timed step of a mobility request: who, when, why. Append-only."""

    __tablename__ = "workforce_mobility_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("workforce_mobility_request.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    establishment_code: Mapped[str | None] = mapped_column(String(40))
    opinion: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class NormVersion(Base):
    """One published version of the staffing norms; a change is a new version."""

    __tablename__ = "workforce_norm_version"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    valid_from: Mapped[date] = mapped_column(Date)
    based_on: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")


class NormLine(Base):
    """Full-time equivalents of a category required in a service of a type of establishment."""

    __tablename__ = "workforce_norm_line"

    version: Mapped[int] = mapped_column(
        ForeignKey("workforce_norm_version.number"), primary_key=True
    )
    establishment_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(30), primary_key=True)
    required: Mapped[float] = mapped_column(Float)
