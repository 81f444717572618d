"""the reading batches not delivered yet, per customer, through a partial index

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    where = sa.text("delivered_at IS NULL")
    op.create_index("ix_reading_batches_open", "reading_batches", ["customer_id"],
                    unique=False, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_reading_batches_open", table_name="reading_batches")
