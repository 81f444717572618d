"""readings keyed by (device, OBIS code, epoch second): the surrogate id and its index go

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ["device_id", "obis_code", "ts"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The unique index on the key becomes the primary key as it is, without a rebuild.
        op.drop_constraint("readings_pkey", "readings", type_="primary")
        op.drop_column("readings", "id")
        op.execute("ALTER TABLE readings ADD CONSTRAINT readings_pkey PRIMARY KEY USING INDEX uq_readings_key")
        return
    with op.batch_alter_table("readings", schema=None, recreate="always") as batch_op:
        batch_op.drop_index("uq_readings_key")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_readings", _KEY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("readings_pkey", "readings", type_="primary")
        op.create_index("uq_readings_key", "readings", _KEY, unique=True)
        op.execute("ALTER TABLE readings ADD COLUMN id BIGSERIAL PRIMARY KEY")
        return
    # SQLite numbers rows only through an INTEGER PRIMARY KEY given when the table is made.
    op.create_table(
        "readings_0004",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("obis_code", sa.String(40), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    columns = "device_id, obis_code, ts, value, batch_id, received_at, delivered_at"
    op.execute(f"INSERT INTO readings_0004 ({columns}) SELECT {columns} FROM readings "
               "ORDER BY received_at, device_id, obis_code, ts")
    op.drop_index("ix_readings_batch", table_name="readings")
    op.drop_table("readings")
    op.rename_table("readings_0004", "readings")
    op.create_index("uq_readings_key", "readings", _KEY, unique=True)
    op.create_index("ix_readings_batch", "readings", ["batch_id"], unique=False)
