"""Outbox planning for a customer tree created in this transaction, written in bulk.

A new customer (with its nested sites, devices and vehicles) has no earlier
links or tasks, so its planning is a pure function of the tree: per entity
and provider one link and one upsert task, waiting for the task of the
entity's upstream parent. The rows are collected as plain dicts and inserted
with one executemany per table, which is what makes ``POST /v1/customers/batch``
fast; the rules are those of :class:`gateway.outbox.plan.OutboxPlanner` and
:mod:`gateway.customers.sync.targets`, which handle every other write.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import ColumnDefault, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, EntityType, SyncStatus, TaskAction, TaskStatus
from gateway.customers.sync.targets import targets, upstream_parent
from gateway.observability.tracing import current_traceparent
from gateway.outbox.dispatch import QueuedTask
from gateway.store.db import is_postgres
from gateway.store.tables import (
    CustomerRow,
    DeviceRow,
    OutboxTaskRow,
    ProviderLinkRow,
    SiteRow,
    TaskDependencyRow,
    table_of,
)


class FreshTrees:
    """Rows of new customer trees and their outbox work, inserted together by :meth:`insert`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.trace_context = current_traceparent()
        """The request's trace, kept with every task (when traces are recorded)."""
        self.customers: list[dict[str, Any]] = []
        self.sites: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.dependencies: list[dict[str, Any]] = []
        self.links_by_entity: dict[str, list[dict[str, Any]]] = {}
        self._task_of: dict[tuple[str, str], str] = {}

    def add(self, table: str, row: dict[str, Any], *, providers: list[str]) -> None:
        """Add one new entity row (``customers``, ``sites`` or ``devices``) and plan its upserts.

        Parents must be added before their children.
        """
        getattr(self, table).append(row)
        entity_type = {"customers": EntityType.CUSTOMER, "sites": EntityType.SITE,
                       "devices": EntityType.DEVICE}[table]
        kind = DeviceKind(row["kind"]) if entity_type is EntityType.DEVICE else None
        customer_id = row["id"] if entity_type is EntityType.CUSTOMER else row["customer_id"]
        mine = self.links_by_entity.setdefault(row["id"], [])
        for provider in targets(providers, entity_type, kind):
            link = {"entity_id": row["id"], "provider": provider.value,
                    "entity_type": entity_type.value, "status": SyncStatus.PENDING.value,
                    "external_id": None, "attempts": 0, "last_error": None, "synced_at": None,
                    "updated_at": self.now, "blocked_by": None, "blocked_reason": None}
            self.links.append(link)
            mine.append(link)
            task_id = str(uuid.uuid4())
            self.tasks.append({
                "id": task_id, "provider": provider.value, "entity_type": entity_type.value,
                "entity_id": row["id"], "customer_id": customer_id,
                "action": TaskAction.UPSERT.value, "status": TaskStatus.PENDING.value, "attempts": 0,
                "run_after": self.now, "lease_until": None, "last_error": None,
                "created_at": self.now, "updated_at": self.now, "blocked_by": None,
                "trace_context": self.trace_context,
            })
            self._task_of[(row["id"], provider.value)] = task_id
            parent = upstream_parent(
                provider, entity_type, customer_id=customer_id, site_id=row.get("site_id"),
                parent_site_id=row.get("parent_site_id"), kind=kind,
            )
            parent_task = self._task_of.get((parent, provider.value)) if parent else None
            if parent_task is not None:
                self.dependencies.append({"task_id": task_id, "depends_on": parent_task})

    @property
    def queued(self) -> list[QueuedTask]:
        return [QueuedTask(task["id"], task["provider"]) for task in self.tasks]

    async def insert(self, session: AsyncSession) -> None:
        """Insert everything collected, parents first: on PostgreSQL in one statement (a
        data-modifying CTE per table, rows passed as JSON), elsewhere one executemany per table."""
        connection = await session.connection()
        tables = [(table_of(model), rows) for model, rows in (
            (CustomerRow, self.customers), (SiteRow, self.sites), (DeviceRow, self.devices),
            (ProviderLinkRow, self.links), (OutboxTaskRow, self.tasks),
            (TaskDependencyRow, self.dependencies)) if rows]
        if not tables:
            return
        if not is_postgres(connection):
            for table, rows in tables:
                await connection.execute(insert(table), rows)
            return
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        statement = _insert_all_sql(tuple(table.name for table, _ in tables))
        try:
            await raw.execute(statement, *(_json_rows(table, rows) for table, rows in tables))
        except asyncpg.IntegrityConstraintViolationError as exc:
            # Raised as SQLAlchemy's error, as every other write's is (a unique externalRef).
            raise IntegrityError(statement, None, exc) from exc


def _json_rows(table: Table, rows: list[dict[str, Any]]) -> str:
    """The rows as a JSON array with every column, missing ones at their column default."""
    defaults = _column_defaults(table)
    return msgspec.json.encode([{**defaults, **row} for row in rows]).decode()


@functools.cache
def _column_defaults(table: Table) -> dict[str, Any]:
    """Every column of ``table`` at its scalar default, or null (worked out once per table)."""
    return {c.name: c.default.arg if isinstance(c.default, ColumnDefault) and c.default.is_scalar else None
            for c in table.columns}


@functools.lru_cache(maxsize=64)
def _insert_all_sql(names: tuple[str, ...]) -> str:
    """One statement inserting JSON arrays of rows into the named tables, in that order."""
    ctes = ", ".join(
        f"i{n} AS (INSERT INTO {name} SELECT * FROM json_populate_recordset(NULL::{name}, ${n + 1}::json))"
        for n, name in enumerate(names))
    return f"WITH {ctes} SELECT 1"
