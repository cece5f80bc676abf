"""Tables of the master patient index.

Source records are kept exactly as registered and never changed. Which person
a record belongs to is the latest of its link events (``patient_link_event``,
append-only); ``patient_record_link`` is the projection of those events that
queries read, rebuilt from them at will. Blocking keys live in their own
indexed table so that matching one new record is a few index look-ups.
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
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from parcours.db import Base, UtcDateTime


class PatientSourceRecord(Base):
    __tablename__ = "patient_source_record"
    __table_args__ = (
        # Two registrations of one IPP at one establishment are one registration.
        UniqueConstraint("establishment_code", "local_id", name="uq_patient_record_local_id"),
        Index("ix_patient_source_record_birth_date", "birth_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Validated against the registry at registration; no foreign key, so that records
    # from outside sources (no establishment) and closed establishments stay loadable.
    establishment_code: Mapped[str | None] = mapped_column(String(40), index=True)
    local_id: Mapped[str | None] = mapped_column(String(64))
    cin: Mapped[str | None] = mapped_column(String(32))
    amo_number: Mapped[str | None] = mapped_column(String(32))
    given_name: Mapped[str | None] = mapped_column(String(120))
    family_name: Mapped[str | None] = mapped_column(String(120))
    given_name_ar: Mapped[str | None] = mapped_column(String(120))
    family_name_ar: Mapped[str | None] = mapped_column(String(120))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_precision: Mapped[str | None] = mapped_column(String(5))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    commune: Mapped[str | None] = mapped_column(String(120))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    registered_by: Mapped[str] = mapped_column(String(120))


class PatientPerson(Base):
    __tablename__ = "patient_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(12), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(8), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patient_person.id"))


class PatientLinkEvent(Base):
    """One change of a record's person; never updated, never deleted."""

    __tablename__ = "patient_link_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("patient_person.id"), index=True)
    action: Mapped[str] = mapped_column(String(8))
    score: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    undoes_event_id: Mapped[int | None] = mapped_column(ForeignKey("patient_link_event.id"))
    batch_id: Mapped[str | None] = mapped_column(String(40))


class PatientRecordLink(Base):
    """The current person of each record: a projection of the link events."""

    __tablename__ = "patient_record_link"

    record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("patient_person.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("patient_link_event.id"))


class PatientBlockingKey(Base):
    __tablename__ = "patient_blocking_key"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("patient_source_record.id"), primary_key=True, index=True
    )


class PatientReview(Base):
    __tablename__ = "patient_review"
    __table_args__ = (Index("ix_patient_review_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"), index=True)
    candidate_person_id: Mapped[int] = mapped_column(ForeignKey("patient_person.id"), index=True)
    candidate_record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"))
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))


class PatientNoMatch(Base):
    """A record and a person a reviewer kept apart: never queued together again."""

    __tablename__ = "patient_no_match"

    record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("patient_person.id"), primary_key=True, index=True
    )
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PatientModel(Base):
    """A trained matching model (``Model.to_dict()``); the latest version is in use."""

    __tablename__ = "patient_model"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    trained_at: Mapped[datetime] = mapped_column(UtcDateTime)
    trained_by: Mapped[str] = mapped_column(String(120))
    records: Mapped[int] = mapped_column(Integer)
