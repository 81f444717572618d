"""energy usage derived from readings: enrollments, derived points, derivation marks

Revision ID: 0011
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "energy_usage_enrollments",
        sa.Column("site_id", sa.String(length=36), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "energy_usage_points",
        sa.Column("site_id", sa.String(length=36), primary_key=True),
        sa.Column("direction", sa.String(length=8), primary_key=True),
        sa.Column("ts", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("meter_point_id", sa.String(length=40), nullable=True),
        sa.Column("kwh", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reported_kwh", sa.Float(), nullable=True),
        sa.Column("report_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "energy_usage_marks",
        sa.Column("device_id", sa.String(length=36), primary_key=True),
        sa.Column("received_through", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("energy_usage_marks")
    op.drop_table("energy_usage_points")
    op.drop_table("energy_usage_enrollments")
