"""blocked outbox tasks: the dead task a task (and its entity's link) waits on, and why

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("outbox_tasks", sa.Column("blocked_by", _text(length=36), nullable=True))
    op.add_column("provider_links", sa.Column("blocked_by", _text(length=36), nullable=True))
    op.add_column("provider_links", sa.Column("blocked_reason", _text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_links") as batch_op:
        batch_op.drop_column("blocked_reason")
        batch_op.drop_column("blocked_by")
    with op.batch_alter_table("outbox_tasks") as batch_op:
        batch_op.drop_column("blocked_by")
