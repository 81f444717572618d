"""Volue events, webhook subscriptions and deliveries, reports

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_ts = sa.DateTime(timezone=True)


def _deferred_fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target], initially="DEFERRED", deferrable=True)


def upgrade() -> None:
    op.create_table(
        "volue_events",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("volue_event_id", _text(length=100), nullable=False),
        sa.Column("type", _text(length=40), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("received_at", _ts, nullable=False),
        sa.Column("source", _text(length=10), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volue_event_id"),
    )
    with op.batch_alter_table("volue_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volue_events_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_volue_events_type"), ["type"], unique=False)

    op.create_table(
        "volue_notifications",
        sa.Column("notification_id", _text(length=100), nullable=False),
        sa.Column("event_id", _text(length=36), nullable=False),
        sa.Column("received_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("notification_id"),
    )
    op.create_table(
        "volue_reports",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("kind", _text(length=20), nullable=False),
        sa.Column("customer_id", _text(length=36), nullable=False),
        sa.Column("site_id", _text(length=36), nullable=True),
        sa.Column("device_id", _text(length=36), nullable=True),
        sa.Column("volue_event_id", _text(length=100), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", _text(length=10), nullable=False),
        sa.Column("volue_report_id", _text(length=100), nullable=True),
        sa.Column("last_error", _text(), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("sent_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("volue_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volue_reports_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "volue_webhooks",
        sa.Column("webhook_id", _text(length=100), nullable=False),
        sa.Column("url", _text(length=2000), nullable=False),
        sa.Column("notification_types", sa.JSON(), nullable=False),
        sa.Column("secret_sealed", _text(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("webhook_id"),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("url", _text(length=2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", _text(length=500), nullable=True),
        sa.Column("secret_sealed", _text(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("deleted_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "volue_event_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", _text(length=36), nullable=False),
        sa.Column("customer_id", _text(length=36), nullable=True),
        sa.Column("site_id", _text(length=36), nullable=True),
        sa.Column("device_id", _text(length=36), nullable=True),
        _deferred_fk("event_id", "volue_events.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("volue_event_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volue_event_targets_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_volue_event_targets_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_volue_event_targets_site_id"), ["site_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("subscription_id", _text(length=36), nullable=False),
        sa.Column("event_id", _text(length=36), nullable=False),
        sa.Column("status", _text(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", _ts, nullable=True),
        sa.Column("last_attempt_at", _ts, nullable=True),
        sa.Column("next_attempt_at", _ts, nullable=True),
        sa.Column("delivered_at", _ts, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", _text(), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        _deferred_fk("event_id", "volue_events.id"),
        _deferred_fk("subscription_id", "webhook_subscriptions.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_subscription", ["subscription_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_subscription")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("volue_event_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volue_event_targets_site_id"))
        batch_op.drop_index(batch_op.f("ix_volue_event_targets_event_id"))
        batch_op.drop_index(batch_op.f("ix_volue_event_targets_customer_id"))
    op.drop_table("volue_event_targets")
    op.drop_table("webhook_subscriptions")
    op.drop_table("volue_webhooks")
    with op.batch_alter_table("volue_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volue_reports_customer_id"))
    op.drop_table("volue_reports")
    op.drop_table("volue_notifications")
    with op.batch_alter_table("volue_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volue_events_type"))
        batch_op.drop_index(batch_op.f("ix_volue_events_received_at"))
    op.drop_table("volue_events")
