"""Care pathways

Encounters with their ICD-10 diagnoses, referrals with their append-only
events, the versioned pathway map with its exceptions, and the live bed
census per hospital service.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcours.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pathway_map_version",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_pathway_map_version")),
    )
    op.create_table(
        "pathway_map_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("specialty", sa.String(length=40), nullable=True),
        sa.Column("destination", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_number"],
            ["pathway_map_version.number"],
            name=op.f("fk_pathway_map_exception_version_number_pathway_map_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_map_exception")),
        sa.UniqueConstraint(
            "version_number",
            "source",
            "specialty",
            name=op.f("uq_pathway_map_exception_version_number"),
        ),
    )
    with op.batch_alter_table("pathway_map_exception", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pathway_map_exception_version_number"), ["version_number"], unique=False
        )

    op.create_table(
        "bed_census",
        sa.Column("establishment_code", sa.String(length=40), nullable=False),
        sa.Column("specialty", sa.String(length=40), nullable=False),
        sa.Column("occupied", sa.Integer(), nullable=False),
        sa.Column("updated_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_bed_census_establishment_code_establishment"),
        ),
        sa.PrimaryKeyConstraint("establishment_code", "specialty", name=op.f("pk_bed_census")),
    )
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=False),
        sa.Column("specialty", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("referring_professional", sa.String(length=160), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("clinical_summary", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("bed_request", sa.Boolean(), nullable=False),
        sa.Column("bed_service", sa.String(length=40), nullable=True),
        sa.Column("map_version", sa.Integer(), nullable=True),
        sa.Column("designated_destination", sa.String(length=40), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("chain", sa.String(length=400), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("sent_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answer_due_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("appointment_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closing_reason", sa.Text(), nullable=True),
        sa.Column("redirected_to", sa.String(length=40), nullable=True),
        sa.Column("counter_referral", sa.Text(), nullable=True),
        sa.Column("last_event_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["destination"],
            ["establishment.code"],
            name=op.f("fk_referral_destination_establishment"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["referral.id"], name=op.f("fk_referral_parent_id_referral")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_referral_record_id_patient_source_record"),
        ),
        sa.ForeignKeyConstraint(
            ["source"], ["establishment.code"], name=op.f("fk_referral_source_establishment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index("ix_referral_due", ["state", "answer_due_at"], unique=False)
        batch_op.create_index(
            "ix_referral_inbox", ["destination", "state", "answer_due_at"], unique=False
        )
        batch_op.create_index(
            "ix_referral_outbox", ["source", "state", "last_event_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referral_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_referral_record", ["record_id"], unique=False)
        batch_op.create_index(
            "ix_referral_returned", ["source", "state", "closed_at"], unique=False
        )
        batch_op.create_index(
            "ix_referral_specialty_scheduled", ["specialty", "scheduled_at"], unique=False
        )
        batch_op.create_index("ix_referral_specialty_sent", ["specialty", "sent_at"], unique=False)

    op.create_table(
        "encounter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("specialty", sa.String(length=40), nullable=True),
        sa.Column("bed_label", sa.String(length=40), nullable=True),
        sa.Column("start_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("discharge_mode", sa.String(length=20), nullable=True),
        sa.Column("transfer_to", sa.String(length=40), nullable=True),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("overflow", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("discharged_by", sa.String(length=120), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_encounter_establishment_code_establishment"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["patient_source_record.id"],
            name=op.f("fk_encounter_record_id_patient_source_record"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referral.id"], name=op.f("fk_encounter_referral_id_referral")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounter")),
    )
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.create_index(
            "ix_encounter_establishment_start", ["establishment_code", "start_at"], unique=False
        )
        batch_op.create_index(
            "ix_encounter_open_stays", ["establishment_code", "specialty", "status"], unique=False
        )
        batch_op.create_index("ix_encounter_record_start", ["record_id", "start_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_encounter_referral_id"), ["referral_id"], unique=False)

    op.create_table(
        "referral_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=True),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("destination", sa.String(length=40), nullable=True),
        sa.Column("appointment_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("immediate", sa.Boolean(), nullable=False),
        sa.Column("related_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referral.id"], name=op.f("fk_referral_event_referral_id_referral")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_event")),
        sa.UniqueConstraint("referral_id", "version", name=op.f("uq_referral_event_referral_id")),
    )
    op.create_table(
        "encounter_diagnosis",
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounter.id"],
            name=op.f("fk_encounter_diagnosis_encounter_id_encounter"),
        ),
        sa.PrimaryKeyConstraint("encounter_id", "rank", name=op.f("pk_encounter_diagnosis")),
    )
    with op.batch_alter_table("encounter_diagnosis", schema=None) as batch_op:
        batch_op.create_index("ix_encounter_diagnosis_code", ["code"], unique=False)

    _append_only(APPEND_ONLY)


# Histories are never rewritten: a referral's events and a published map version stay
# as written (a correction is a new event, a change is a new version).
APPEND_ONLY = ("referral_event", "pathway_map_version", "pathway_map_exception")


def _append_only(tables: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION parcours_history_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION parcours_history_append_only()"
            )
    else:
        for table in tables:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS parcours_history_append_only()")
    with op.batch_alter_table("encounter_diagnosis", schema=None) as batch_op:
        batch_op.drop_index("ix_encounter_diagnosis_code")

    op.drop_table("encounter_diagnosis")
    op.drop_table("referral_event")
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encounter_referral_id"))
        batch_op.drop_index("ix_encounter_record_start")
        batch_op.drop_index("ix_encounter_open_stays")
        batch_op.drop_index("ix_encounter_establishment_start")

    op.drop_table("encounter")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_specialty_sent")
        batch_op.drop_index("ix_referral_specialty_scheduled")
        batch_op.drop_index("ix_referral_record")
        batch_op.drop_index(batch_op.f("ix_referral_parent_id"))
        batch_op.drop_index("ix_referral_outbox")
        batch_op.drop_index("ix_referral_inbox")
        batch_op.drop_index("ix_referral_due")

    op.drop_table("referral")
    op.drop_table("bed_census")
    with op.batch_alter_table("pathway_map_exception", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathway_map_exception_version_number"))

    op.drop_table("pathway_map_exception")
    op.drop_table("pathway_map_version")
