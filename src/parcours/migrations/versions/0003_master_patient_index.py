"""Master patient index

Source records as registered, persons, the append-only link events and their
projection, the indexed blocking keys, the review queue, the pairs kept apart
and the trained models. Also the demo's table of true persons
(``demo_patient_truth``), which the matching code never reads.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "demo_patient_truth",
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("true_person", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("record_key", name=op.f("pk_demo_patient_truth")),
    )
    with op.batch_alter_table("demo_patient_truth", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_demo_patient_truth_true_person"), ["true_person"], unique=False
        )

    op.create_table(
        "patient_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trained_by", sa.String(length=120), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_model")),
        sa.UniqueConstraint("version", name=op.f("uq_patient_model_version")),
    )
    op.create_table(
        "patient_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["patient_person.id"],
            name=op.f("fk_patient_person_merged_into_id_patient_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_person")),
        sa.UniqueConstraint("public_id", name=op.f("uq_patient_person_public_id")),
    )
    op.create_table(
        "patient_source_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=True),
        sa.Column("local_id", sa.String(length=64), nullable=True),
        sa.Column("cin", sa.String(length=32), nullable=True),
        sa.Column("amo_number", sa.String(length=32), nullable=True),
        sa.Column("given_name", sa.String(length=120), nullable=True),
        sa.Column("family_name", sa.String(length=120), nullable=True),
        sa.Column("given_name_ar", sa.String(length=120), nullable=True),
        sa.Column("family_name_ar", sa.String(length=120), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_precision", sa.String(length=5), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("commune", sa.String(length=120), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_source_record")),
        sa.UniqueConstraint("establishment_code", "local_id", name="uq_patient_record_local_id"),
        sa.UniqueConstraint("record_key", name=op.f("uq_patient_source_record_record_key")),
    )
    with op.batch_alter_table("patient_source_record", schema=None) as batch_op:
        batch_op.create_index("ix_patient_source_record_birth_date", ["birth_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patient_source_record_establishment_code"),
            ["establishment_code"],
            unique=False,
        )

    op.create_table(
        "patient_blocking_key",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_patient_blocking_key_record_id_patient_source_record"),
        ),
        sa.PrimaryKeyConstraint("key", "record_id", name=op.f("pk_patient_blocking_key")),
    )
    with op.batch_alter_table("patient_blocking_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_blocking_key_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "patient_link_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("undoes_event_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["patient_person.id"],
            name=op.f("fk_patient_link_event_person_id_patient_person"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_patient_link_event_record_id_patient_source_record"),
        ),
        sa.ForeignKeyConstraint(
            ["undoes_event_id"],
            ["patient_link_event.id"],
            name=op.f("fk_patient_link_event_undoes_event_id_patient_link_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_link_event")),
    )
    with op.batch_alter_table("patient_link_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_link_event_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_link_event_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "patient_no_match",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["patient_person.id"],
            name=op.f("fk_patient_no_match_person_id_patient_person"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_patient_no_match_record_id_patient_source_record"),
        ),
        sa.PrimaryKeyConstraint("record_id", "person_id", name=op.f("pk_patient_no_match")),
    )
    with op.batch_alter_table("patient_no_match", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_no_match_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "patient_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("candidate_person_id", sa.Integer(), nullable=False),
        sa.Column("candidate_record_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_person_id"],
            ["patient_person.id"],
            name=op.f("fk_patient_review_candidate_person_id_patient_person"),
        ),
        sa.ForeignKeyConstraint(
            ["candidate_record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_patient_review_candidate_record_id_patient_source_record"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_patient_review_record_id_patient_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_review")),
    )
    with op.batch_alter_table("patient_review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_review_candidate_person_id"),
            ["candidate_person_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_patient_review_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index("ix_patient_review_status", ["status", "id"], unique=False)

    op.create_table(
        "patient_record_link",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["patient_link_event.id"],
            name=op.f("fk_patient_record_link_event_id_patient_link_event"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["patient_person.id"],
            name=op.f("fk_patient_record_link_person_id_patient_person"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_patient_record_link_record_id_patient_source_record"),
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_patient_record_link")),
    )
    with op.batch_alter_table("patient_record_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_record_link_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_record_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_record_link_person_id"))

    op.drop_table("patient_record_link")
    with op.batch_alter_table("patient_review", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_review_status")
        batch_op.drop_index(batch_op.f("ix_patient_review_record_id"))
        batch_op.drop_index(batch_op.f("ix_patient_review_candidate_person_id"))

    op.drop_table("patient_review")
    with op.batch_alter_table("patient_no_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_no_match_person_id"))

    op.drop_table("patient_no_match")
    with op.batch_alter_table("patient_link_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_link_event_record_id"))
        batch_op.drop_index(batch_op.f("ix_patient_link_event_person_id"))

    op.drop_table("patient_link_event")
    with op.batch_alter_table("patient_blocking_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_blocking_key_record_id"))

    op.drop_table("patient_blocking_key")
    with op.batch_alter_table("patient_source_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_source_record_establishment_code"))
        batch_op.drop_index("ix_patient_source_record_birth_date")

    op.drop_table("patient_source_record")
    op.drop_table("patient_person")
    op.drop_table("patient_model")
    with op.batch_alter_table("demo_patient_truth", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demo_patient_truth_true_person"))

    op.drop_table("demo_patient_truth")
