"""Regional workforce

Professionals with their versions and qualifications, assignments
(PractitionerRole), on-call duties, mobility requests with their append-only
timed events, and the versioned staffing norms.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcours.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workforce_norm_version",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_workforce_norm_version")),
    )
    op.create_table(
        "workforce_norm_line",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("establishment_type", sa.String(length=30), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("required", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["workforce_norm_version.number"],
            name=op.f("fk_workforce_norm_line_version_workforce_norm_version"),
        ),
        sa.PrimaryKeyConstraint(
            "version",
            "establishment_type",
            "service",
            "category",
            name=op.f("pk_workforce_norm_line"),
        ),
    )
    op.create_table(
        "workforce_professional",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inpe", sa.String(length=12), nullable=True),
        sa.Column("cin", sa.String(length=12), nullable=True),
        sa.Column("family_name", sa.String(length=120), nullable=False),
        sa.Column("given_name", sa.String(length=120), nullable=False),
        sa.Column("family_name_ar", sa.String(length=120), nullable=True),
        sa.Column("given_name_ar", sa.String(length=120), nullable=True),
        sa.Column("search_name", sa.String(length=250), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("specialty", sa.String(length=40), nullable=True),
        sa.Column("grade", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hired_on", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["specialty"],
            ["specialty.code"],
            name=op.f("fk_workforce_professional_specialty_specialty"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_professional")),
        sa.UniqueConstraint("inpe", name=op.f("uq_workforce_professional_inpe")),
    )
    with op.batch_alter_table("workforce_professional", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workforce_professional_category", ["category", "specialty"], unique=False
        )
        batch_op.create_index("ix_workforce_professional_search", ["search_name"], unique=False)

    op.create_table(
        "workforce_professional_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changed_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("change", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["workforce_professional.id"],
            name=op.f("fk_workforce_professional_version_professional_id_workforce_professional"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_professional_version")),
        sa.UniqueConstraint(
            "professional_id",
            "version",
            name=op.f("uq_workforce_professional_version_professional_id"),
        ),
    )
    with op.batch_alter_table("workforce_professional_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_professional_version_professional_id"),
            ["professional_id"],
            unique=False,
        )

    op.create_table(
        "workforce_qualification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=False),
        sa.Column("obtained_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["workforce_professional.id"],
            name=op.f("fk_workforce_qualification_professional_id_workforce_professional"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_qualification")),
    )
    with op.batch_alter_table("workforce_qualification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_qualification_professional_id"),
            ["professional_id"],
            unique=False,
        )

    op.create_table(
        "workforce_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("ended_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_workforce_assignment_establishment_code_establishment"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["workforce_professional.id"],
            name=op.f("fk_workforce_assignment_professional_id_workforce_professional"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_assignment")),
    )
    with op.batch_alter_table("workforce_assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workforce_assignment_staffing",
            ["establishment_code", "service", "category", "start_on", "end_on", "share"],
            unique=False,
        )
        batch_op.create_index(
            "ix_workforce_assignment_establishment",
            ["establishment_code", "start_on"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_workforce_assignment_professional_id"), ["professional_id"], unique=False
        )

    op.create_table(
        "workforce_mobility_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("initiator", sa.String(length=20), nullable=False),
        sa.Column("from_establishment", sa.String(length=40), nullable=False),
        sa.Column("from_service", sa.String(length=40), nullable=False),
        sa.Column("to_establishment", sa.String(length=40), nullable=False),
        sa.Column("to_service", sa.String(length=40), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        sa.Column("wished_on", sa.Date(), nullable=True),
        sa.Column("motive", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=120), nullable=False),
        sa.Column("releasing_opinion", sa.String(length=20), nullable=True),
        sa.Column("receiving_opinion", sa.String(length=20), nullable=True),
        sa.Column("decided_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("updated_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_establishment"],
            ["establishment.code"],
            name=op.f("fk_workforce_mobility_request_from_establishment_establishment"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["workforce_professional.id"],
            name=op.f("fk_workforce_mobility_request_professional_id_workforce_professional"),
        ),
        sa.ForeignKeyConstraint(
            ["to_establishment"],
            ["establishment.code"],
            name=op.f("fk_workforce_mobility_request_to_establishment_establishment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_mobility_request")),
    )
    with op.batch_alter_table("workforce_mobility_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workforce_mobility_from", ["from_establishment", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_workforce_mobility_request_professional_id"),
            ["professional_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_workforce_mobility_state", ["state", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_workforce_mobility_to", ["to_establishment", "state"], unique=False
        )

    op.create_table(
        "workforce_shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("starts_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("cancelled_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=120), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_workforce_shift_establishment_code_establishment"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["workforce_professional.id"],
            name=op.f("fk_workforce_shift_professional_id_workforce_professional"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_shift")),
    )
    with op.batch_alter_table("workforce_shift", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workforce_shift_professional", ["professional_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_workforce_shift_roster",
            ["establishment_code", "service", "starts_at"],
            unique=False,
        )

    op.create_table(
        "workforce_mobility_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=True),
        sa.Column("opinion", sa.String(length=20), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["workforce_mobility_request.id"],
            name=op.f("fk_workforce_mobility_event_request_id_workforce_mobility_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_mobility_event")),
    )
    with op.batch_alter_table("workforce_mobility_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_mobility_event_request_id"), ["request_id"], unique=False
        )

    _append_only(APPEND_ONLY)


# Histories are never rewritten: a mobility request's steps, a professional's versions and
# a published version of the norms stay as written.
APPEND_ONLY = (
    "workforce_mobility_event",
    "workforce_professional_version",
    "workforce_norm_version",
    "workforce_norm_line",
)


def _append_only(tables: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        # parcours_history_append_only() comes with migration 0004.
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
    with op.batch_alter_table("workforce_mobility_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_mobility_event_request_id"))

    op.drop_table("workforce_mobility_event")
    with op.batch_alter_table("workforce_shift", schema=None) as batch_op:
        batch_op.drop_index("ix_workforce_shift_roster")
        batch_op.drop_index("ix_workforce_shift_professional")

    op.drop_table("workforce_shift")
    with op.batch_alter_table("workforce_mobility_request", schema=None) as batch_op:
        batch_op.drop_index("ix_workforce_mobility_to")
        batch_op.drop_index("ix_workforce_mobility_state")
        batch_op.drop_index(batch_op.f("ix_workforce_mobility_request_professional_id"))
        batch_op.drop_index("ix_workforce_mobility_from")

    op.drop_table("workforce_mobility_request")
    with op.batch_alter_table("workforce_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_assignment_professional_id"))
        batch_op.drop_index("ix_workforce_assignment_establishment")
        batch_op.drop_index("ix_workforce_assignment_staffing")

    op.drop_table("workforce_assignment")
    with op.batch_alter_table("workforce_qualification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_qualification_professional_id"))

    op.drop_table("workforce_qualification")
    with op.batch_alter_table("workforce_professional_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_professional_version_professional_id"))

    op.drop_table("workforce_professional_version")
    with op.batch_alter_table("workforce_professional", schema=None) as batch_op:
        batch_op.drop_index("ix_workforce_professional_search")
        batch_op.drop_index("ix_workforce_professional_category")

    op.drop_table("workforce_professional")
    op.drop_table("workforce_norm_line")
    op.drop_table("workforce_norm_version")
