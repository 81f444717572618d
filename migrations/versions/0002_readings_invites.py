"""readings, their delivery, and invites

Revision ID: 0002
Revises: 5070791d12bf
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "5070791d12bf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("obis_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index("uq_readings_key", ["device_id", "obis_code", "ts"], unique=True)
        batch_op.create_index("ix_readings_batch", ["batch_id"], unique=False)

    op.create_table(
        "invites",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("site_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("send_email", sa.Boolean(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index("ix_invites_site_email", ["site_id", "email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index("ix_invites_site_email")
    op.drop_table("invites")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_batch")
        batch_op.drop_index("uq_readings_key")
    op.drop_table("readings")
