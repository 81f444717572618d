"""SQLModel tables: the canonical records, provider links, outbox, keys and history.

Ids are our own UUIDs as text. Soft-deleted rows keep their data and carry
``deleted_at``; an ``external_ref`` is unique among the rows not deleted.
Times are stored in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Table, inspect, text
from sqlmodel import Field, SQLModel

UTC_DATETIME = DateTime(timezone=True)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a ``table=True`` model (what SQLModel sets, undeclared, as ``__table__``)."""
    # A model mapped to one table has that Table as its local table; the mapper types it FromClause.
    return cast(Table, inspect(model).local_table)


def _ts(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTC_DATETIME, nullable=nullable, index=index)


def _fk(target: str) -> list[ForeignKey]:
    """A foreign key checked at commit, so rows of one transaction may be inserted in any order."""
    return [ForeignKey(target, deferrable=True, initially="DEFERRED")]


def _live_unique(name: str, *cols: str) -> Index:
    """A unique index over the rows that are not soft-deleted."""
    where = text("deleted_at IS NULL")
    return Index(name, *cols, unique=True, sqlite_where=where, postgresql_where=where)


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (_live_unique("uq_customers_external_ref", "external_ref"),)

    id: str = Field(primary_key=True, max_length=36)
    external_ref: str = Field(max_length=200)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    providers: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class SiteRow(SQLModel, table=True):
    __tablename__ = "sites"
    __table_args__ = (_live_unique("uq_sites_external_ref", "external_ref"),)

    id: str = Field(primary_key=True, max_length=36)
    customer_id: str = Field(sa_column_args=_fk("customers.id"), index=True, max_length=36)
    external_ref: str = Field(max_length=200)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    category: str = Field(max_length=60)
    address_line1: str = Field(max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postcode: str = Field(max_length=20)
    city: str = Field(max_length=100)
    country: str = Field(max_length=2)
    latitude: float | None = None
    longitude: float | None = None
    meter_point_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    parent_site_id: str | None = Field(
        default=None, sa_column_args=_fk("sites.id"), max_length=36
    )
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class DeviceRow(SQLModel, table=True):
    __tablename__ = "devices"
    __table_args__ = (_live_unique("uq_devices_external_ref", "external_ref"),)

    id: str = Field(primary_key=True, max_length=36)
    customer_id: str = Field(sa_column_args=_fk("customers.id"), index=True, max_length=36)
    site_id: str | None = Field(
        default=None, sa_column_args=_fk("sites.id"), index=True, max_length=36
    )
    external_ref: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    name: str = Field(max_length=200)
    medium: str | None = Field(default=None, max_length=20)
    is_main: bool = False
    meter_number: str | None = Field(default=None, max_length=100)
    meter_point_id: str | None = Field(default=None, max_length=64)
    brand: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    year: int | None = None
    vin: str | None = Field(default=None, max_length=17)
    capacity: float | None = None
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ProviderLinkRow(SQLModel, table=True):
    """Where one entity stands at one provider."""

    __tablename__ = "provider_links"
    __table_args__ = (
        Index("ix_provider_links_drifted", "provider", "entity_type",
              sqlite_where=text("status = 'drifted'"), postgresql_where=text("status = 'drifted'")),
    )

    entity_id: str = Field(primary_key=True, max_length=36)
    provider: str = Field(primary_key=True, max_length=20)
    entity_type: str = Field(max_length=20)
    status: str = Field(max_length=20)
    external_id: str | None = Field(default=None, max_length=100)
    attempts: int = 0
    last_error: str | None = None
    synced_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    updated_at: datetime = Field(sa_column=_ts())
    blocked_by: str | None = Field(default=None, max_length=36)
    """While ``status`` is blocked: the dead task this entity's task waits on."""
    blocked_reason: str | None = None


class OutboxTaskRow(SQLModel, table=True):
    """One piece of upstream work, written in the same transaction as the change it carries.

    ``status``: pending (waiting or ready), running (leased by a worker until
    ``lease_until``), done, dead (out of attempts or refused; retried by ops), blocked
    (waits on the dead task ``blocked_by``), cancelled, superseded.
    """

    __tablename__ = "outbox_tasks"
    __table_args__ = (
        Index("ix_outbox_ready", "status", "provider", "run_after"),
        Index("ix_outbox_entity", "entity_id", "provider"),
        # the claim's order among a provider's pending tasks (``gateway/outbox/claim.py``)
        Index("ix_outbox_pending", "provider", "created_at", "id",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: str = Field(primary_key=True, max_length=36)
    provider: str = Field(max_length=20)
    entity_type: str = Field(max_length=20)
    entity_id: str = Field(max_length=36)
    customer_id: str = Field(max_length=36, index=True)
    action: str = Field(max_length=10)
    status: str = Field(max_length=10)
    attempts: int = 0
    run_after: datetime = Field(sa_column=_ts())
    lease_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str | None = None
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    first_failed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    """When the current run of transient failures began; the retry budget counts from here."""
    maybe_sent: bool = False
    """An earlier attempt may have reached the provider: a create looks before it is sent again."""
    blocked_by: str | None = Field(default=None, max_length=36)
    sent_keys: str | None = None
    """A JSON array of what earlier attempts that may have reached the provider would have
    created (adapter-defined keys), so that a later attempt adopts it instead of creating anew."""
    trace_context: str | None = Field(default=None, max_length=55)
    """The W3C ``traceparent`` of the span that queued the task (an API request), when traces
    are recorded: the worker's span for the task continues that trace."""


class TaskDependencyRow(SQLModel, table=True):
    """``task_id`` may not run before ``depends_on`` is done (parents first, children first on delete)."""

    __tablename__ = "task_dependencies"

    task_id: str = Field(primary_key=True, max_length=36)
    depends_on: str = Field(primary_key=True, max_length=36, index=True)


class UpstreamCallRow(SQLModel, table=True):
    """One upstream HTTP exchange made for an entity: the per-entity sync history."""

    __tablename__ = "upstream_calls"
    __table_args__ = (Index("ix_upstream_calls_customer", "customer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_id: str = Field(max_length=36, index=True)
    entity_type: str = Field(max_length=20)
    customer_id: str = Field(max_length=36)
    provider: str = Field(max_length=20)
    task_id: str = Field(max_length=36)
    method: str = Field(max_length=10)
    route: str = Field(max_length=300)
    status: int | None = None
    latency_ms: float
    error: str | None = None
    at: datetime = Field(sa_column=_ts())
    trace_id: str | None = Field(default=None, max_length=32)
    """The trace of the exchange's span (32 hex digits), when traces are recorded."""
    body_id: str | None = Field(default=None, max_length=32)
    """Its bodies (``upstream_call_bodies``); the tasks of one batch request share them."""


class UpstreamCallBodyRow(SQLModel, table=True):
    """The request and response bodies of one upstream exchange, secrets redacted, each cut
    to ``providers.redact.BODY_LIMIT`` characters (``*_truncated`` says it was cut)."""

    __tablename__ = "upstream_call_bodies"

    id: str = Field(primary_key=True, max_length=32)
    request_body: str | None = None
    response_body: str | None = None
    request_truncated: bool = False
    response_truncated: bool = False
    at: datetime = Field(sa_column=_ts(index=True))


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class IdempotencyKeyRow(SQLModel, table=True):
    """An ``Idempotency-Key``: reserved by the request running it, then its first response (24 h).

    While the request runs, ``holder`` names it and there is no response yet
    (``status_code`` and ``body`` are NULL); ``created_at`` is when it was reserved, then
    when the response was stored.
    """

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=300)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    body: bytes | None = None
    holder: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(sa_column=_ts(index=True))


# The tables of the readings and events areas live in modules of their own;
# importing them here registers them with the same metadata.
from gateway.store import console_tables as _console_tables  # noqa: E402, F401
from gateway.store import energy_tables as _energy_tables  # noqa: E402, F401
from gateway.store import event_tables as _event_tables  # noqa: E402, F401
from gateway.store import invite_tables as _invite_tables  # noqa: E402, F401
from gateway.store import ops_tables as _ops_tables  # noqa: E402, F401
from gateway.store import programme_tables as _programme_tables  # noqa: E402, F401
from gateway.store import reading_tables as _reading_tables  # noqa: E402, F401
