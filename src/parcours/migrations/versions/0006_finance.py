"""Regional finance

The GST's budget lines with their running totals, the append-only ledger of
movements (allocation, amendment, transfers, commitment, de-commitment, payment
order, payment, counter-entry), the per-line monthly totals, transfers between
lines, the transitional action programmes with their actions and events, and
the reform projects with their progress reports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcours.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The ledger and the histories are never rewritten: a mistake is corrected by a
# counter-entry, a status or progress change is a new event.
APPEND_ONLY = ("finance_movement", "finance_action_event", "finance_project_event")


def upgrade() -> None:
    op.create_table(
        "finance_programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_programme")),
        sa.UniqueConstraint("code", name=op.f("uq_finance_programme_code")),
    )
    op.create_table(
        "finance_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("progress_pct", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("funding_lines", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_finance_action_establishment_code_establishment"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["finance_programme.id"],
            name=op.f("fk_finance_action_programme_id_finance_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_action")),
        sa.UniqueConstraint("programme_id", "number", name=op.f("uq_finance_action_programme_id")),
    )
    op.create_index(
        "ix_finance_action_deadline", "finance_action", ["status", "deadline"], unique=False
    )
    op.create_table(
        "finance_budget_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=True),
        sa.Column("chapter", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("allocated", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("committed", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("ordered", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("movements", sa.Integer(), nullable=False),
        sa.Column("created_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_finance_budget_line_establishment_code_establishment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_budget_line")),
        sa.UniqueConstraint(
            "year", "establishment_code", "code", name=op.f("uq_finance_budget_line_year")
        ),
    )
    op.create_index(
        "ix_finance_budget_line_unit",
        "finance_budget_line",
        ["year", "establishment_code"],
        unique=False,
    )
    op.create_table(
        "finance_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("establishment_code", sa.String(length=40), nullable=True),
        sa.Column("beds_planned", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("spent", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("physical_pct", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=False),
        sa.Column("planned_end", sa.Date(), nullable=False),
        sa.Column("forecast_end", sa.Date(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_code"],
            ["establishment.code"],
            name=op.f("fk_finance_project_establishment_code_establishment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_project")),
        sa.UniqueConstraint("code", name=op.f("uq_finance_project_code")),
    )
    op.create_table(
        "finance_action_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("progress_pct", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["finance_action.id"],
            name=op.f("fk_finance_action_event_action_id_finance_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_action_event")),
    )
    op.create_index(
        op.f("ix_finance_action_event_action_id"),
        "finance_action_event",
        ["action_id"],
        unique=False,
    )
    op.create_table(
        "finance_line_month",
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("allocated", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("committed", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("ordered", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["finance_budget_line.id"],
            name=op.f("fk_finance_line_month_line_id_finance_budget_line"),
        ),
        sa.PrimaryKeyConstraint("line_id", "month", name=op.f("pk_finance_line_month")),
    )
    op.create_table(
        "finance_project_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("physical_pct", sa.Integer(), nullable=False),
        sa.Column("spent", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("forecast_end", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["finance_project.id"],
            name=op.f("fk_finance_project_event_project_id_finance_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_project_event")),
    )
    op.create_index(
        op.f("ix_finance_project_event_project_id"),
        "finance_project_event",
        ["project_id"],
        unique=False,
    )
    op.create_table(
        "finance_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("from_line_id", sa.Integer(), nullable=False),
        sa.Column("to_line_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("decided_at", parcours.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_line_id"],
            ["finance_budget_line.id"],
            name=op.f("fk_finance_transfer_from_line_id_finance_budget_line"),
        ),
        sa.ForeignKeyConstraint(
            ["to_line_id"],
            ["finance_budget_line.id"],
            name=op.f("fk_finance_transfer_to_line_id_finance_budget_line"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_transfer")),
    )
    op.create_index(
        "ix_finance_transfer_state", "finance_transfer", ["state", "requested_at"], unique=False
    )
    op.create_table(
        "finance_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("measure", sa.String(length=12), nullable=False),
        sa.Column("delta", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", parcours.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["finance_movement.id"],
            name=op.f("fk_finance_movement_corrects_id_finance_movement"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["finance_budget_line.id"],
            name=op.f("fk_finance_movement_line_id_finance_budget_line"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["finance_transfer.id"],
            name=op.f("fk_finance_movement_transfer_id_finance_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_movement")),
        sa.UniqueConstraint("corrects_id", name=op.f("uq_finance_movement_corrects_id")),
    )
    op.create_index(
        "ix_finance_movement_line", "finance_movement", ["line_id", "booked_on"], unique=False
    )

    _append_only(APPEND_ONLY)


def _append_only(tables: Sequence[str]) -> None:
    """Refuse UPDATE and DELETE on ``tables`` (the function comes from migration 0004)."""
    if op.get_context().dialect.name == "postgresql":
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
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    op.drop_index("ix_finance_movement_line", table_name="finance_movement")
    op.drop_table("finance_movement")
    op.drop_index("ix_finance_transfer_state", table_name="finance_transfer")
    op.drop_table("finance_transfer")
    op.drop_index(op.f("ix_finance_project_event_project_id"), table_name="finance_project_event")
    op.drop_table("finance_project_event")
    op.drop_table("finance_line_month")
    op.drop_index(op.f("ix_finance_action_event_action_id"), table_name="finance_action_event")
    op.drop_table("finance_action_event")
    op.drop_table("finance_project")
    op.drop_index("ix_finance_budget_line_unit", table_name="finance_budget_line")
    op.drop_table("finance_budget_line")
    op.drop_index("ix_finance_action_deadline", table_name="finance_action")
    op.drop_table("finance_action")
    op.drop_table("finance_programme")
