"""reading batches: delivery is marked once per batch; readings keys compared bytewise

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_ts = sa.DateTime(timezone=True)


_KEYS = (("device_id", 36, False), ("obis_code", 40, False), ("batch_id", 36, True))
"""Readings columns compared byte by byte on PostgreSQL from this revision on."""


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, length, nullable in _KEYS:
        op.alter_column("readings", column, existing_nullable=nullable,
                        type_=sa.String(length, collation=collation))


def upgrade() -> None:
    _collate("C")
    op.create_table(
        "reading_batches",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("customer_id", _text(length=36), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("delivered_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reading_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reading_batches_customer_id"), ["customer_id"], unique=False)
    # Batches of readings stored before this revision: delivered when every reading is.
    op.execute(
        "INSERT INTO reading_batches (id, customer_id, size, created_at, delivered_at) "
        "SELECT r.batch_id, MIN(d.customer_id), COUNT(*), MIN(r.received_at), "
        "CASE WHEN COUNT(*) = COUNT(r.delivered_at) THEN MAX(r.delivered_at) END "
        "FROM readings r JOIN devices d ON d.id = r.device_id "
        "WHERE r.batch_id IS NOT NULL GROUP BY r.batch_id"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE readings SET delivered_at = (SELECT b.delivered_at FROM reading_batches b "
        "WHERE b.id = readings.batch_id) WHERE delivered_at IS NULL AND batch_id IN "
        "(SELECT id FROM reading_batches WHERE delivered_at IS NOT NULL)"
    )
    with op.batch_alter_table("reading_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reading_batches_customer_id"))
    op.drop_table("reading_batches")
    _collate(None)
