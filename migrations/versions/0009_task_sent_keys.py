"""outbox tasks remember what an unanswered create may have made upstream

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_tasks", sa.Column("sent_keys", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_tasks", schema=None) as batch_op:
        batch_op.drop_column("sent_keys")
