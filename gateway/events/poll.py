"""The reconciliation poll: read Volue's ``GET /events`` and store what webhooks missed.

Volue documents the list as newest first; the pages are walked from the newest
end either way (the order is read off the first and last page), and each page's
new events go through :func:`gateway.events.service.store_event`, so an event that also
came by webhook is stored once. The walk stops at the end of the list or at a
page whose events were all known and are older than ``LOOKBACK``: earlier polls
covered what lies behind it. Events created before the retention horizon
(``GATEWAY_EVENTS_RETENTION_S``) are not stored, and the walk ends at the page
that reaches it: those events were stored and pruned already, or are too old to
act on.

Runs as the periodic job :data:`POLL_JOB`: an arq cron (a Redis key spaces the runs of
all workers ``GATEWAY_EVENTS_POLL_INTERVAL_S`` apart) or, in embedded mode, a loop
beside the sync loops.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.events import EventPage, ProviderEvent
from gateway.core.settings import Settings
from gateway.events.service import EVENTS_FROM, IncomingEvent, store_event
from gateway.outbox.unit_of_work import unit_of_work
from gateway.runtime.periodic import PeriodicJob, interval_lock
from gateway.runtime.process import Runtime
from gateway.store.event_tables import VolueEventRow
from gateway.store.tables import OutboxTaskRow
from providers.base import Capability, EventSource, ProviderError

log = logging.getLogger("gateway.reconcile")
LOOKBACK = timedelta(hours=24)
POLL_LOCK_KEY = "gateway:volue-events-poll"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PollResult:
    """How a poll went: events stored and the outbox tasks that need a wake-up."""

    def __init__(self) -> None:
        self.pages = 0
        self.stored = 0
        self.tasks: list[OutboxTaskRow] = []


async def reconcile(*, sessions: async_sessionmaker[AsyncSession], source: EventSource,
                    settings: Settings, now: datetime | None = None) -> PollResult:
    """Read the event pages (canonical events) from the newest end and store the events not
    stored yet."""
    now = now or utcnow()
    result = PollResult()
    first = await source.events_page(1)
    total = first.last_page
    pages: dict[int, EventPage] = {1: first}
    order = [1]
    if total > 1:
        pages[total] = await source.events_page(total)
        newest_first = _newest(first.events) >= _newest(pages[total].events)
        order = list(range(1, total + 1)) if newest_first else list(range(total, 0, -1))
    horizon = now - timedelta(seconds=settings.events.retention_s)
    for number in order:
        page = pages.get(number) or await source.events_page(number)
        result.pages += 1
        kept = [e for e in page.events if _created(e, now) >= horizon]
        fresh = await _store_page(sessions, kept, settings, result, now)
        oldest = min((_created(e, now) for e in page.events), default=_EPOCH)
        if oldest < horizon or (not fresh and oldest < now - LOOKBACK):
            break
    return result


def _newest(events: Sequence[ProviderEvent]) -> datetime:
    return max((as_utc(e.created_at) or _EPOCH for e in events), default=_EPOCH)


def _created(event: ProviderEvent, now: datetime) -> datetime:
    """When the event was created; ``createdAt`` is optional, and an event without it counts
    as new (it is kept, and it does not end the walk)."""
    return as_utc(event.created_at) or now


async def _store_page(sessions: async_sessionmaker[AsyncSession], events: Sequence[ProviderEvent],
                      settings: Settings, result: PollResult, now: datetime) -> int:
    """Store the page's unknown events in one transaction; return how many were new.

    An event listed without its ``payload`` (the document makes it optional) cannot be
    typed or targeted: it is skipped with a warning, and stored when a webhook brings it.
    """
    whole = [e for e in events if e.payload is not None]
    if len(whole) < len(events):
        log.warning("Volue listed %d event(s) without a payload; skipped: %s", len(events) - len(whole),
                    ", ".join(e.event_id for e in events if e.payload is None))
    events = whole
    if not events:
        return 0
    async with unit_of_work(sessions, None) as uow:
        ids = [e.event_id for e in events]
        known = set((await uow.session.execute(
            select(col(VolueEventRow.volue_event_id)).where(col(VolueEventRow.volue_event_id).in_(ids))
        )).scalars())
        missing = [e for e in events if e.event_id not in known]
        if not missing:
            return 0
        stored = 0
        for event in missing:
            outcome = await store_event(uow.session, uow.planner, IncomingEvent.from_listing(event, now),
                                        settings=settings)
            stored += outcome.row is not None
    result.stored += stored
    result.tasks.extend(uow.planner.created)
    return stored


async def volue_events_due(runtime: Runtime) -> bool:
    """Whether a poll may ask Volue now: it lists events, and its circuit is closed (open, or
    paused by a 429, the next poll catches up; the circuit other workers opened counts too)."""
    if EVENTS_FROM not in runtime.adapters.offering(Capability.EVENT_SOURCE):
        return False
    return await runtime.worker().held_back_s(EVENTS_FROM.value) <= 0


async def poll_volue_events(runtime: Runtime) -> int:
    """One reconciliation poll, waking the queues it fed; return the events stored."""
    source = runtime.adapters.event_source(EVENTS_FROM)
    try:
        result = await reconcile(sessions=runtime.sessions, source=source, settings=runtime.settings)
    except ProviderError as exc:
        log.warning("Volue events poll failed: %s", exc.message)
        return 0
    await runtime.dispatcher.notify(result.tasks)
    return result.stored


POLL_JOB = PeriodicJob(
    name="poll_volue_events",
    run=poll_volue_events,
    interval_s=lambda settings: settings.events.poll_interval_s,
    second=frozenset(range(0, 60, 10)),
    when=volue_events_due,
    elect=interval_lock(POLL_LOCK_KEY),
)
