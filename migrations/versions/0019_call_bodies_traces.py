"""Upstream call bodies (redacted) and trace ids in the sync history; trace context of tasks

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "upstream_call_bodies",
        sa.Column("id", _text(length=32), primary_key=True),
        sa.Column("request_body", _text(), nullable=True),
        sa.Column("response_body", _text(), nullable=True),
        sa.Column("request_truncated", sa.Boolean(), nullable=False),
        sa.Column("response_truncated", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_upstream_call_bodies_at", "upstream_call_bodies", ["at"])
    with op.batch_alter_table("upstream_calls") as batch:
        batch.add_column(sa.Column("trace_id", _text(length=32), nullable=True))
        batch.add_column(sa.Column("body_id", _text(length=32), nullable=True))
    with op.batch_alter_table("outbox_tasks") as batch:
        batch.add_column(sa.Column("trace_context", _text(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_tasks") as batch:
        batch.drop_column("trace_context")
    with op.batch_alter_table("upstream_calls") as batch:
        batch.drop_column("body_id")
        batch.drop_column("trace_id")
    op.drop_index("ix_upstream_call_bodies_at", table_name="upstream_call_bodies")
    op.drop_table("upstream_call_bodies")
