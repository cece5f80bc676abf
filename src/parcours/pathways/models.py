"""Tables of the pathways context: encounters, referrals and their events, the map, the census.

Encounters and referrals belong to a *source record* of the master patient
index (the patient as the establishment registered them), not to a person:
which person a record belongs to may change as the MPI links and unlinks, and
the timeline follows those links without any row here being rewritten.

A referral's row is its current snapshot (``version`` is the optimistic lock);
``referral_event`` is its history, one row per transition, never updated.
Map versions and their exceptions are written once and never changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from parcours.db import Base, UtcDateTime


class PathwayMapVersion(Base):
    """One published state of the pathway map (carte sanitaire)."""

    __tablename__ = "pathway_map_version"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)


class PathwayMapException(Base):
    """An administrator's override, as it stands in one version (copied into the next)."""

    __tablename__ = "pathway_map_exception"
    __table_args__ = (UniqueConstraint("version_number", "source", "specialty"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_number: Mapped[int] = mapped_column(
        ForeignKey("pathway_map_version.number"), index=True
    )
    source: Mapped[str] = mapped_column(String(40))
    specialty: Mapped[str | None] = mapped_column(String(40))
    destination: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(300), default="")


class Encounter(Base):
    """A consultation, an emergency visit or a hospital stay (FHIR Encounter)."""

    __tablename__ = "encounter"
    __table_args__ = (
        # The timeline: a person's records, newest first.
        Index("ix_encounter_record_start", "record_id", "start_at"),
        # Activity of an establishment over a period; the bypass count at the CHU.
        Index("ix_encounter_establishment_start", "establishment_code", "start_at"),
        # The live census: stays still open in a service.
        Index("ix_encounter_open_stays", "establishment_code", "specialty", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"))
    establishment_code: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # in_progress | finished
    specialty: Mapped[str | None] = mapped_column(String(40))
    bed_label: Mapped[str | None] = mapped_column(String(40))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    discharge_mode: Mapped[str | None] = mapped_column(String(20))
    transfer_to: Mapped[str | None] = mapped_column(String(40))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    overflow: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    discharged_by: Mapped[str | None] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer, default=1)


class EncounterDiagnosis(Base):
    """An ICD-10 code of an encounter; rank 1 is the main diagnosis."""

    __tablename__ = "encounter_diagnosis"
    __table_args__ = (Index("ix_encounter_diagnosis_code", "code"),)

    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounter.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(8))
    known: Mapped[bool] = mapped_column(Boolean)  # in the compact list shipped


class BedCensus(Base):
    """Stays open in a hospital service now; declared beds stay in the registry."""

    __tablename__ = "bed_census"

    establishment_code: Mapped[str] = mapped_column(
        ForeignKey("establishment.code"), primary_key=True
    )
    specialty: Mapped[str] = mapped_column(String(40), primary_key=True)
    occupied: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Referral(Base):
    """A referral (FHIR ServiceRequest) and the state of its fulfilment (FHIR Task)."""

    __tablename__ = "referral"
    __table_args__ = (
        # The receiving establishment's inbox, by state and deadline.
        Index("ix_referral_inbox", "destination", "state", "answer_due_at"),
        # The referring establishment's outgoing list.
        Index("ix_referral_outbox", "source", "state", "last_event_at"),
        # The counter-referrals come back: a source's completed referrals, newest first.
        Index("ix_referral_returned", "source", "state", "closed_at"),
        # The map's volumes and the waits of a specialty over a period.
        Index("ix_referral_specialty_sent", "specialty", "sent_at"),
        Index("ix_referral_specialty_scheduled", "specialty", "scheduled_at"),
        # The expiry sweep.
        Index("ix_referral_due", "state", "answer_due_at"),
        Index("ix_referral_record", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("patient_source_record.id"))
    source: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    destination: Mapped[str] = mapped_column(ForeignKey("establishment.code"))
    specialty: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer)
    referring_professional: Mapped[str | None] = mapped_column(String(160))
    reason: Mapped[str | None] = mapped_column(Text)
    clinical_summary: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    bed_request: Mapped[bool] = mapped_column(Boolean, default=False)
    bed_service: Mapped[str | None] = mapped_column(String(40))
    map_version: Mapped[int | None] = mapped_column(Integer)
    designated_destination: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    root_id: Mapped[int | None] = mapped_column(Integer)
    chain: Mapped[str] = mapped_column(String(400))  # destinations, '>'-separated
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answer_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    appointment_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closing_reason: Mapped[str | None] = mapped_column(Text)
    redirected_to: Mapped[str | None] = mapped_column(String(40))
    counter_referral: Mapped[str | None] = mapped_column(Text)
    last_event_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ReferralEvent(Base):
    """One transition of a referral: who, when, from which state to which, and why."""

    __tablename__ = "referral_event"
    # Two writers producing the same version of one referral: the second insert fails.
    __table_args__ = (UniqueConstraint("referral_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str | None] = mapped_column(String(12))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(120))
    side: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    destination: Mapped[str | None] = mapped_column(String(40))
    appointment_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    immediate: Mapped[bool] = mapped_column(Boolean, default=False)
    related_id: Mapped[int | None] = mapped_column(Integer)
