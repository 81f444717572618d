"""programme memberships of customers and the compensation of their sites

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_memberships",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("programme", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wanted", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("enrollment_id", sa.String(length=100), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("eligible", sa.Boolean(), nullable=True),
        sa.Column("eligibility_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "programme"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_programme_memberships_eligible", "programme_memberships", ["eligible"])
    op.create_table(
        "site_compensations",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("active_amount", sa.Float(), nullable=False),
        sa.Column("blocked_amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id"),
    )
    op.create_index("ix_site_compensations_customer_id", "site_compensations", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_site_compensations_customer_id", table_name="site_compensations")
    op.drop_table("site_compensations")
    op.drop_index("ix_programme_memberships_eligible", table_name="programme_memberships")
    op.drop_table("programme_memberships")
