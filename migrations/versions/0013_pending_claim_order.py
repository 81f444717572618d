"""a provider's pending tasks in claim order, through a partial index

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    where = sa.text("status = 'pending'")
    op.create_index("ix_outbox_pending", "outbox_tasks", ["provider", "created_at", "id"],
                    unique=False, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox_tasks")
