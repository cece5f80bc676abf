"""Registry listing and specialty indexes

The establishment list is ordered by care level (highest first), name and code;
an index in that order lets a page be read from the index instead of sorting the
table, which is what made deep pages slow (benchmarks/README.md). The specialty
filter looks establishments up by specialty: the composite index covers it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("establishment_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_establishment_service_specialty_code"))
        batch_op.create_index(
            "ix_establishment_service_specialty", ["specialty_code", "establishment_id"]
        )
    op.create_index(
        "ix_establishment_listing", "establishment", [sa.text("care_level DESC"), "name", "code"]
    )


def downgrade() -> None:
    op.drop_index("ix_establishment_listing", table_name="establishment")
    with op.batch_alter_table("establishment_service", schema=None) as batch_op:
        batch_op.drop_index("ix_establishment_service_specialty")
        batch_op.create_index(
            batch_op.f("ix_establishment_service_specialty_code"), ["specialty_code"]
        )
