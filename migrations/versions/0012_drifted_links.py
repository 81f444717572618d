"""provider links found drifted by reconciliation are counted through a partial index

Revision ID: 0012
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    where = sa.text("status = 'drifted'")
    op.create_index("ix_provider_links_drifted", "provider_links", ["provider", "entity_type"],
                    unique=False, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_provider_links_drifted", table_name="provider_links")
