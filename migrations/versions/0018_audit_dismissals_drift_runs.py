"""the audit trail of ops actions, task dismissals and kept drift results

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", _text(length=20), nullable=False),
        sa.Column("actor_id", _text(length=200), nullable=False),
        sa.Column("actor_name", _text(length=200), nullable=False),
        sa.Column("via", _text(length=20), nullable=False),
        sa.Column("action", _text(length=50), nullable=False),
        sa.Column("target", _text(length=300), nullable=False),
        sa.Column("result", _text(length=20), nullable=False),
        sa.Column("detail", _text(), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_id", "id"])
    op.create_index("ix_audit_log_target", "audit_log", ["target", "id"])
    op.create_table(
        "task_dismissals",
        sa.Column("task_id", _text(length=36), primary_key=True),
        sa.Column("previous_status", _text(length=10), nullable=False),
        sa.Column("reason", _text(length=2000), nullable=False),
        sa.Column("actor", _text(length=200), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("with_task", _text(length=36), nullable=True),
    )
    op.create_index("ix_task_dismissals_dismissed_at", "task_dismissals", ["dismissed_at"])
    op.create_table(
        "drift_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", _text(length=20), nullable=False),
        sa.Column("source", _text(length=20), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
    )
    op.create_index("ix_drift_runs_checked_at", "drift_runs", ["checked_at"])
    op.create_index("ix_drift_runs_provider", "drift_runs", ["provider", "id"])


def downgrade() -> None:
    op.drop_index("ix_drift_runs_provider", table_name="drift_runs")
    op.drop_index("ix_drift_runs_checked_at", table_name="drift_runs")
    op.drop_table("drift_runs")
    op.drop_index("ix_task_dismissals_dismissed_at", table_name="task_dismissals")
    op.drop_table("task_dismissals")
    for name in ("ix_audit_log_target", "ix_audit_log_actor", "ix_audit_log_action", "ix_audit_log_at"):
        op.drop_index(name, table_name="audit_log")
    op.drop_table("audit_log")
