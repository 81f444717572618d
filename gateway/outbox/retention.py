"""Retention: call history, finished outbox tasks and Volue events are kept for a while, not for ever."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import TaskStatus, WebhookDeliveryStatus
from gateway.core.settings import Settings
from gateway.store.db import among, chunked, on_postgres
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    VolueNotificationRow,
    WebhookDeliveryRow,
)
from gateway.store.tables import OutboxTaskRow, UpstreamCallBodyRow, UpstreamCallRow

FINISHED = (TaskStatus.DONE, TaskStatus.CANCELLED, TaskStatus.SUPERSEDED)
UNSETTLED_DELIVERIES = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.RETRYING)


async def prune(session: AsyncSession, *, now: datetime, keep_s: float) -> tuple[int, int]:
    """Delete upstream calls (with their bodies) and finished tasks older than ``keep_s``; commits.

    Returns (calls deleted, tasks deleted). Pending, running and dead tasks are
    never deleted: they are work, or evidence an operator still needs.
    """
    cutoff = now - timedelta(seconds=keep_s)
    calls = await session.exec(delete(UpstreamCallRow).where(col(UpstreamCallRow.at) < cutoff))
    await session.exec(delete(UpstreamCallBodyRow).where(col(UpstreamCallBodyRow.at) < cutoff))
    tasks = await session.exec(
        delete(OutboxTaskRow).where(
            col(OutboxTaskRow.status).in_(FINISHED),
            col(OutboxTaskRow.updated_at) < cutoff,
        )
    )
    await session.commit()
    return calls.rowcount, tasks.rowcount


NOTIFICATION_MARGIN_S = 3600.0
"""Notification ids outlive the webhook freshness window by this much: more than the receiver
accepts a notification's timestamp ahead of our clock."""


async def prune_events(session: AsyncSession, *, now: datetime, keep_s: float,
                       keep_ids_s: float = 0.0) -> int:
    """Delete Volue events received more than ``keep_s`` ago, with their targets, deliveries
    and webhook notification ids (those at least ``keep_ids_s`` old); commits. Returns the
    number of events deleted.

    An event with a delivery still pending or retrying is kept until that settles.
    """
    cutoff = now - timedelta(seconds=keep_s)
    e, d, t = VolueEventRow, WebhookDeliveryRow, VolueEventTargetRow
    unsettled = exists().where(col(d.event_id) == col(e.id), col(d.status).in_(UNSETTLED_DELIVERIES))
    ids = list((await session.execute(
        select(col(e.id)).where(col(e.received_at) < cutoff, ~unsettled)
    )).scalars())
    postgres = on_postgres(session)
    for part in chunked(ids, postgres=postgres):
        for table, column in ((t, t.event_id), (d, d.event_id), (e, e.id)):
            await session.execute(delete(table).where(among(column, part, postgres=postgres)))
    n = VolueNotificationRow
    ids_cutoff = min(cutoff, now - timedelta(seconds=keep_ids_s))
    await session.execute(delete(n).where(col(n.received_at) < ids_cutoff))
    await session.commit()
    return len(ids)


async def prune_all(sessions: async_sessionmaker[AsyncSession], settings: Settings, *,
                    now: datetime) -> tuple[int, int, int]:
    """(calls, tasks, events) deleted, each kind past its retention setting."""
    async with sessions() as session:
        calls, tasks = await prune(session, now=now, keep_s=settings.sync.history_retention_s)
    async with sessions() as session:
        # a notification id must outlive the window in which its notification is fresh
        events = await prune_events(session, now=now, keep_s=settings.events.retention_s,
                                    keep_ids_s=settings.volue.webhook_max_age_s + NOTIFICATION_MARGIN_S)
    return calls, tasks, events
