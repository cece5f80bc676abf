"""Indicators

Indicator definitions (data, not code), the aggregate cells by measure,
establishment, month and dimension member, one watermark per source, and
the hospital stays seen open whose length of stay is still to count.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcours.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_definition",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("numerator", sa.String(length=500), nullable=False),
        sa.Column("denominator", sa.String(length=500), nullable=True),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("theme", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("shipped", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_indicator_definition")),
    )
    op.create_table(
        "indicator_cell",
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("dim", sa.String(length=60), nullable=False),
        sa.Column("establishment", sa.String(length=40), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "measure", "dim", "establishment", "month", "bucket", name=op.f("pk_indicator_cell")
        ),
    )
    op.create_index(
        "ix_indicator_cell_month", "indicator_cell", ["measure", "dim", "month"], unique=False
    )
    op.create_table(
        "indicator_watermark",
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("facts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_indicator_watermark")),
    )
    op.create_table(
        "indicator_open_stay",
        sa.Column("encounter_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("establishment", sa.String(length=40), nullable=False),
        sa.Column("specialty", sa.String(length=40), nullable=True),
        sa.Column("start_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("encounter_id", name=op.f("pk_indicator_open_stay")),
    )


def downgrade() -> None:
    op.drop_table("indicator_open_stay")
    op.drop_table("indicator_watermark")
    op.drop_index("ix_indicator_cell_month", table_name="indicator_cell")
    op.drop_table("indicator_cell")
    op.drop_table("indicator_definition")
