"""Tables of Volue events, webhook subscriptions and their deliveries, and reports.

Registered with the metadata by ``gateway.store.tables``.

* ``volue_events``: one row per Volue event, however it arrived (webhook or the
  reconciliation poll); ``volue_event_id`` is unique, so an event is stored once.
* ``volue_event_targets``: the event's targets resolved to our customers, sites
  and devices (Volue's user, location and resource ids are ours).
* ``volue_notifications``: every webhook notification id seen (dedupe on retries).
* ``volue_webhooks``: webhooks registered at Volue by ``gateway volue webhooks``,
  with their secret encrypted (``gateway.core.secrets_box``).
* ``webhook_subscriptions`` / ``webhook_deliveries``: internal services that
  receive events, and each event's delivery to each of them.
* ``volue_reports``: reports sent to Volue's ``POST /reports`` through the outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, false
from sqlmodel import Field, SQLModel

_UTC = DateTime(timezone=True)


def _ts(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(_UTC, nullable=nullable, index=index)


def _fk(target: str) -> list[ForeignKey]:
    """A foreign key checked at commit, so rows of one transaction may be inserted in any order."""
    return [ForeignKey(target, deferrable=True, initially="DEFERRED")]


class VolueEventRow(SQLModel, table=True):
    __tablename__ = "volue_events"

    id: str = Field(primary_key=True, max_length=36)
    volue_event_id: str = Field(max_length=100, unique=True)
    type: str = Field(max_length=40, index=True)
    """The notification type (``PriceCurveCreated`` ...), also for events read by the poll."""
    created_at: datetime = Field(sa_column=_ts())
    """When Volue created the event."""
    received_at: datetime = Field(sa_column=_ts(index=True))
    source: str = Field(max_length=10)
    """``webhook`` or ``poll``: how the event first reached us."""
    payload: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))


class VolueEventTargetRow(SQLModel, table=True):
    """One target of an event that names one of our customers, sites or devices."""

    __tablename__ = "volue_event_targets"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(sa_column_args=_fk("volue_events.id"), index=True, max_length=36)
    customer_id: str | None = Field(default=None, max_length=36, index=True)
    site_id: str | None = Field(default=None, max_length=36, index=True)
    device_id: str | None = Field(default=None, max_length=36)


class VolueNotificationRow(SQLModel, table=True):
    """A webhook notification already received (Volue retries until it gets a 2xx)."""

    __tablename__ = "volue_notifications"

    notification_id: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(max_length=36)
    received_at: datetime = Field(sa_column=_ts())


class VolueWebhookRow(SQLModel, table=True):
    """A webhook the gateway registered at Volue; its secrets verify what Volue sends.

    A registration is stored ``pending`` under a ``pending-...`` id before ``POST /webhooks``
    goes out, and takes Volue's id once the answer (or a listing, after a lost or bodiless
    answer) names it. A rotation keeps the new secret in ``pending_secret_sealed`` until Volue
    confirms it; until then both secrets are accepted.
    """

    __tablename__ = "volue_webhooks"

    webhook_id: str = Field(primary_key=True, max_length=100)
    url: str = Field(max_length=2000)
    notification_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret_sealed: str
    created_at: datetime = Field(sa_column=_ts())
    name: str | None = Field(default=None, max_length=200)
    pending: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    pending_secret_sealed: str | None = None


class WebhookSubscriptionRow(SQLModel, table=True):
    """An internal service that receives the events of ``event_types`` (all when empty)."""

    __tablename__ = "webhook_subscriptions"

    id: str = Field(primary_key=True, max_length=36)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    secret_sealed: str
    created_at: datetime = Field(sa_column=_ts())
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class WebhookDeliveryRow(SQLModel, table=True):
    """One event's delivery to one subscription; its id is the Standard Webhooks ``webhook-id``.

    ``status``: pending (queued, not tried yet), retrying (failed, will try
    again at ``next_attempt_at``), delivered, failed (gave up after the max age).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    subscription_id: str = Field(sa_column_args=_fk("webhook_subscriptions.id"), max_length=36)
    event_id: str = Field(sa_column_args=_fk("volue_events.id"), max_length=36)
    status: str = Field(max_length=10)
    attempts: int = 0
    first_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime = Field(sa_column=_ts())


class VolueReportRow(SQLModel, table=True):
    """A report for Volue's ``POST /reports``; ``body`` is the request exactly as sent.

    ``kind``: energy_usage, device_energy_usage, energy_usage_plan or lpc_ack (charge_action on
    rows from before the quickstart-era report was dropped). ``status``: pending, sent, failed.
    """

    __tablename__ = "volue_reports"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=20)
    customer_id: str = Field(max_length=36, index=True)
    site_id: str | None = Field(default=None, max_length=36)
    device_id: str | None = Field(default=None, max_length=36)
    volue_event_id: str | None = Field(default=None, max_length=100)
    body: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=10)
    volue_report_id: str | None = Field(default=None, max_length=100)
    last_error: str | None = None
    created_at: datetime = Field(sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
