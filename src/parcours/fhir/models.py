"""Tables of the FHIR façade.

``fhir_resource_version`` is append-only: one row per version of a resource as
the façade returned it after a write (or first saw it after a change made
elsewhere), so that vread and history can answer. The data itself stays in
the owning contexts; these rows are the façade's memory of what it said.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parcours.db import Base, UtcDateTime


class FhirResourceVersion(Base):
    __tablename__ = "fhir_resource_version"
    __table_args__ = (
        UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_fhir_version"),
        Index("ix_fhir_version_updated", "resource_type", "last_updated"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    method: Mapped[str] = mapped_column(String(8))
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class FhirIdentifier(Base):
    """Identifiers a system sent with a resource it created (for conditional create)."""

    __tablename__ = "fhir_identifier"

    resource_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    system: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64))


class FhirClient(Base):
    """A system allowed to call the façade (OAuth2 client credentials)."""

    __tablename__ = "fhir_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    scope: Mapped[str] = mapped_column(String(500))
    smart_scopes: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class FhirToken(Base):
    """An access token issued to a client; only its SHA-256 is kept."""

    __tablename__ = "fhir_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(80), index=True)
    smart_scopes: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FhirExportJob(Base):
    """A bulk export ($export): its request, its state and the files it wrote."""

    __tablename__ = "fhir_export_job"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(80))
    request_url: Mapped[str] = mapped_column(String(500))
    types: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    output: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
