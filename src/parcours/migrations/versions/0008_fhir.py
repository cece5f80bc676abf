"""FHIR R4 façade

The append-only version table of the resources written through the façade,
the registered system clients (OAuth2 client credentials) and the bulk export
jobs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcours.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_resource_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_resource_version")),
        sa.UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_fhir_version"),
    )
    with op.batch_alter_table("fhir_resource_version", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fhir_version_updated", ["resource_type", "last_updated"], unique=False
        )
    op.create_table(
        "fhir_identifier",
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "resource_type", "system", "value", name=op.f("pk_fhir_identifier")
        ),
    )
    op.create_table(
        "fhir_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("smart_scopes", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_fhir_client_client_id")),
    )
    op.create_table(
        "fhir_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=80), nullable=False),
        sa.Column("smart_scopes", sa.Text(), nullable=False),
        sa.Column("issued_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_fhir_token")),
    )
    with op.batch_alter_table("fhir_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fhir_token_client_id"), ["client_id"], unique=False)
    op.create_table(
        "fhir_export_job",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=80), nullable=False),
        sa.Column("request_url", sa.String(length=500), nullable=False),
        sa.Column("types", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_export_job")),
    )


def downgrade() -> None:
    op.drop_table("fhir_export_job")
    with op.batch_alter_table("fhir_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fhir_token_client_id"))
    op.drop_table("fhir_token")
    op.drop_table("fhir_client")
    op.drop_table("fhir_identifier")
    with op.batch_alter_table("fhir_resource_version", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_version_updated")
    op.drop_table("fhir_resource_version")
