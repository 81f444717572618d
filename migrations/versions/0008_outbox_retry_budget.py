"""outbox tasks: when transient failures began (the retry budget) and whether a try may have been sent

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("maybe_sent", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("outbox_tasks", schema=None) as batch_op:
        batch_op.drop_column("maybe_sent")
        batch_op.drop_column("first_failed_at")
