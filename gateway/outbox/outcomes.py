"""The gateway's own events: what became of its work, for webhook subscribers that ask for it.

A record synced, failed or blocked at a provider, a task dead-lettered, drift found, an
invite link ready, a readings batch delivered: each is written by :func:`emit` into the
transaction that records the outcome itself (the engine's round, the planner's settling,
a reconciliation), so an outcome is never recorded without its event nor the other way
round. The event is stored in the events table with ``source`` ``gateway`` and one
delivery (and ``webhook_delivery`` task on the ``subscribers`` queue) per live
subscription that lists its type; forwarding then signs and sends it like a Volue event.
Nothing is stored when no subscription asks for the type, and a subscription with no
``eventTypes`` (all of Volue's) gets none of these: they must be asked for by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import TaskStatus, WebhookDeliveryStatus
from gateway.outbox.queues import FORWARD_KIND, FORWARD_QUEUE
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import OutboxTaskRow, table_of

SOURCE = "gateway"
"""The ``source`` of an event the gateway made itself."""
_CACHE_KEY = "gateway.outcome_subscribers"


class OutcomeType(StrEnum):
    """The gateway's own event types."""

    RECORD_SYNCED = "record.synced"
    RECORD_FAILED = "record.failed"
    RECORD_BLOCKED = "record.blocked"
    TASK_DEAD_LETTERED = "task.dead_lettered"
    DRIFT_FOUND = "drift.found"
    INVITE_LINK_READY = "invite.link_ready"
    READINGS_BATCH_DELIVERED = "readings.batch_delivered"


OUTCOME_TYPES: tuple[str, ...] = tuple(t.value for t in OutcomeType)


class OwnEvent(NamedTuple):
    """One event to emit: its type, the record it is about, and what subscribers read."""

    type: OutcomeType
    customer_id: str | None
    payload: dict[str, Any]
    record: tuple[str, str] | None = None
    """The record it is about (its type and id), named in the event's targets when they have a
    column for its type (``<type>_id``)."""


_RECORD_TARGETS = frozenset(column.name for column in table_of(VolueEventTargetRow).columns
                            if column.name.endswith("_id") and column.name not in ("event_id", "customer_id"))
"""The target columns an event may name its record in, besides its customer."""


def about_entity(type_: OutcomeType, *, entity_type: str, entity_id: str, customer_id: str | None,
                 **payload: Any) -> OwnEvent:
    """An event about a synced record (its type and id in the payload and, where the events'
    targets have a column for its type, in its targets)."""
    return OwnEvent(type=type_, customer_id=customer_id or None,
                    payload={"entityType": entity_type, "entityId": entity_id, **payload},
                    record=(entity_type, entity_id))


def _targets(outcome: OwnEvent) -> dict[str, Any]:
    """The target columns of an event besides its customer: its record's, if it has one."""
    if outcome.record is None:
        return {}
    column = f"{outcome.record[0]}_id"
    return {column: outcome.record[1]} if column in _RECORD_TARGETS else {}


async def _subscribers(session: AsyncSession) -> list[tuple[str, frozenset[str]]]:
    """The live subscriptions that name at least one of the gateway's types, once per transaction."""
    cached = session.info.get(_CACHE_KEY)
    if cached is not None:
        return list(cached)
    rows = await session.execute(
        select(col(WebhookSubscriptionRow.id), col(WebhookSubscriptionRow.event_types))
        .where(col(WebhookSubscriptionRow.deleted_at).is_(None)))
    wanted = [(sub_id, frozenset(t for t in types if t in OUTCOME_TYPES)) for sub_id, types in rows]
    found = [(sub_id, types) for sub_id, types in wanted if types]
    session.info[_CACHE_KEY] = found
    return found


async def wanted_types(session: AsyncSession) -> frozenset[str]:
    """The gateway's own event types some live subscription asks for (once per transaction):
    a caller with many outcomes builds events only of these."""
    return frozenset().union(*(types for _, types in await _subscribers(session)))


async def emit(session: AsyncSession, events: Sequence[OwnEvent], *, now: datetime) -> list[OutboxTaskRow]:
    """Store the events some subscription asks for, with their deliveries and tasks, in the
    caller's transaction; return the tasks (whose queue the caller may wake after commit)."""
    if not events:
        return []
    subscribers = await _subscribers(session)
    tasks: list[OutboxTaskRow] = []
    for outcome in events:
        wanting = [sub_id for sub_id, types in subscribers if outcome.type.value in types]
        if not wanting:
            continue
        event_id = str(uuid.uuid4())
        session.add(VolueEventRow(id=event_id, volue_event_id=f"{SOURCE}:{event_id}",
                                  type=outcome.type.value, created_at=now, received_at=now,
                                  source=SOURCE, payload=outcome.payload))
        targets = _targets(outcome)
        if outcome.customer_id or targets:
            session.add(VolueEventTargetRow(event_id=event_id, customer_id=outcome.customer_id, **targets))
        for sub_id in wanting:
            delivery_id = str(uuid.uuid4())
            session.add(WebhookDeliveryRow(id=delivery_id, subscription_id=sub_id, event_id=event_id,
                                           status=WebhookDeliveryStatus.PENDING.value, attempts=0,
                                           created_at=now))
            task = OutboxTaskRow(id=str(uuid.uuid4()), provider=FORWARD_QUEUE, entity_type=FORWARD_KIND,
                                 entity_id=delivery_id, customer_id=outcome.customer_id or "",
                                 action="upsert", status=TaskStatus.PENDING.value, attempts=0,
                                 run_after=now, created_at=now, updated_at=now)
            session.add(task)
            tasks.append(task)
    return tasks
