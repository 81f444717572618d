"""Volue webhook secrets kept before the request: pending registrations and rotations

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("volue_webhooks") as batch:
        batch.add_column(sa.Column("name", _text(length=200), nullable=True))
        batch.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("pending_secret_sealed", _text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volue_webhooks") as batch:
        batch.drop_column("pending_secret_sealed")
        batch.drop_column("pending")
        batch.drop_column("name")
