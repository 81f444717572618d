"""Volue events in the gateway: stored once, targets resolved, forwarded, LPC acknowledged.

An event reaches us by webhook (``gateway.events.receiver``) or by the
reconciliation poll (``gateway.events.poll``), mapped by the provider's package to a
canonical event (:mod:`gateway.core.events`); both call :func:`store_event`
inside their own transaction. It

* drops a webhook notification whose ``notificationId`` was seen before;
* inserts the event unless its Volue id is stored already (an insert that
  ignores conflicts, so a webhook and the poll racing still store it once);
* resolves the records the event names to our customers, sites and devices (Volue's user,
  location and resource ids are our own ids);
* queues one delivery per matching subscription (``gateway.events.forwarding``)
  and, when ``GATEWAY_VOLUE_AUTO_ACK_LPC`` is on, the LPC acknowledgement report;
* records an eligibility update's added and removed customers as eligible or not on
  their programme memberships (``gateway.programmes``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import Provider, WebhookDeliveryStatus
from gateway.core.events import Eligibility, EventNotice, EventRef, ProviderEvent
from gateway.core.settings import Settings
from gateway.core.wire import Wire
from gateway.outbox.outcomes import OUTCOME_TYPES
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import FORWARD_KIND, FORWARD_QUEUE
from gateway.programmes.service import apply_eligibility
from gateway.reports.service import queue_automatic_answer
from gateway.store.db import chunked, dialect_insert
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    VolueNotificationRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow, table_of
from providers.registry import event_format

EVENTS_FROM = Provider.VOLUE
"""The provider whose events are stored here (``volue_events``): its listing is polled and its
webhook notifications received."""
EVENT_TYPES = event_format(EVENTS_FROM).event_types
"""Its event types (Volue's notification types): what a subscription with no ``eventTypes``
receives."""
SUBSCRIBABLE_TYPES = (*EVENT_TYPES, *OUTCOME_TYPES)
"""The event types subscribers can ask for: Volue's and the gateway's own (``outbox.outcomes``)."""


class EventTarget(Wire):
    customer_id: str | None
    site_id: str | None
    device_id: str | None


class EventRead(Wire):
    id: str
    type: str
    volue_event_id: str
    created_at: datetime
    received_at: datetime
    source: str
    targets: list[EventTarget]
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """A provider's event as stored: from a webhook notification or from the event listing."""

    volue_event_id: str
    type: str
    created_at: datetime
    payload: dict[str, Any]
    source: str
    refs: tuple[EventRef, ...] = ()
    eligibility: Eligibility | None = None
    notification_id: str | None = None

    @classmethod
    def from_notice(cls, notice: EventNotice, received_at: datetime) -> IncomingEvent:
        """A notified event; ``received_at`` stands in for an absent creation time."""
        listed = cls.from_listing(notice.event, received_at)
        return cls(volue_event_id=listed.volue_event_id, type=listed.type,
                   created_at=listed.created_at, payload=listed.payload, source="webhook",
                   refs=listed.refs, eligibility=listed.eligibility,
                   notification_id=notice.notification_id)

    @classmethod
    def from_listing(cls, event: ProviderEvent, received_at: datetime) -> IncomingEvent:
        """The listed event (which must carry its payload); ``received_at`` stands in for an
        absent ``createdAt``."""
        if event.payload is None or event.type is None:
            raise ValueError(f"event {event.event_id} was listed without its payload")
        return cls(volue_event_id=event.event_id, type=event.type,
                   created_at=event.created_at or received_at, payload=event.payload, source="poll",
                   refs=event.refs, eligibility=event.eligibility)


@dataclass(frozen=True, slots=True)
class Stored:
    """What :func:`store_event` did: ``row`` is None when the event was known already."""

    event_id: str
    row: VolueEventRow | None
    targets: list[VolueEventTargetRow]


def event_read(row: VolueEventRow, targets: Iterable[VolueEventTargetRow]) -> EventRead:
    return EventRead(
        id=row.id, type=row.type, volue_event_id=row.volue_event_id,
        created_at=as_utc(row.created_at),
        received_at=as_utc(row.received_at),
        source=row.source,
        targets=[EventTarget(customer_id=t.customer_id, site_id=t.site_id, device_id=t.device_id)
                 for t in targets],
        payload=row.payload,
    )


async def store_event(session: AsyncSession, planner: OutboxPlanner, incoming: IncomingEvent, *,
                      settings: Settings) -> Stored:
    """Store ``incoming`` once and queue its follow-up work; the caller commits."""
    now = planner.now
    if incoming.notification_id is not None:
        seen = await session.get(VolueNotificationRow, incoming.notification_id)
        if seen is not None:
            return Stored(event_id=seen.event_id, row=None, targets=[])
    events: Table = table_of(VolueEventRow)
    new_id = str(uuid.uuid4())
    payload = incoming.payload
    inserted = (await session.execute(
        dialect_insert(session, events)
        .values(id=new_id, volue_event_id=incoming.volue_event_id, type=incoming.type,
                created_at=incoming.created_at, received_at=now, source=incoming.source,
                payload=payload)
        .on_conflict_do_nothing(index_elements=["volue_event_id"])
        .returning(events.c.id)
    )).first()
    if inserted is None:
        existing = (await session.execute(
            select(events.c.id).where(events.c.volue_event_id == incoming.volue_event_id))).scalar_one()
        await _remember_notification(session, incoming, existing, now)
        return Stored(event_id=existing, row=None, targets=[])
    await _remember_notification(session, incoming, new_id, now)
    row = VolueEventRow(id=new_id, volue_event_id=incoming.volue_event_id, type=incoming.type,
                        created_at=incoming.created_at, received_at=now, source=incoming.source,
                        payload=payload)
    targets = await resolve_targets(session, new_id, incoming.refs)
    session.add_all(targets)
    customer_id = next((t.customer_id for t in targets if t.customer_id), "")
    await plan_deliveries(session, planner, row, customer_id)
    if settings.volue.auto_ack_lpc:
        plan_lpc_ack(session, planner, incoming, targets, customer_id)
    if incoming.eligibility is not None:
        await apply_eligibility(session, incoming.eligibility.added, incoming.eligibility.removed,
                                as_utc(incoming.eligibility.as_of) or now)
    return Stored(event_id=new_id, row=row, targets=targets)


async def _remember_notification(session: AsyncSession, incoming: IncomingEvent, event_id: str,
                                 now: datetime) -> None:
    if incoming.notification_id is None:
        return
    table: Table = table_of(VolueNotificationRow)
    await session.execute(
        dialect_insert(session, table)
        .values(notification_id=incoming.notification_id, event_id=event_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["notification_id"])
    )


def _target_ids(refs: Sequence[EventRef]) -> tuple[list[tuple[str | None, str | None]], list[str]]:
    """(device id, site id) pairs and customer ids that an event names."""
    pairs = [(ref.device_id, ref.site_id) for ref in refs if ref.device_id or ref.site_id]
    users = list(dict.fromkeys(ref.customer_id for ref in refs
                               if ref.customer_id and not (ref.device_id or ref.site_id)))
    return pairs, users


async def resolve_targets(session: AsyncSession, event_id: str,
                          refs: Sequence[EventRef]) -> list[VolueEventTargetRow]:
    """The records an event names that are our devices, sites or customers (unknown ids are
    left out)."""
    pairs, users = _target_ids(refs)
    devices = await _by_id(session, DeviceRow, [r for r, _ in pairs if r])
    sites = await _by_id(session, SiteRow, [loc for _, loc in pairs if loc])
    customers = await _by_id(session, CustomerRow, users)
    found: dict[tuple[str | None, str | None, str | None], None] = {}
    for resource_id, location_id in pairs:
        device = devices.get(resource_id or "")
        site = sites.get(location_id or "")
        if device is not None:
            site_id = device.site_id or (site.id if site is not None else None)
            found[(device.customer_id, site_id, device.id)] = None
        elif site is not None:
            found[(site.customer_id, site.id, None)] = None
    for user_id in users:
        if user_id in customers:
            found[(user_id, None, None)] = None
    return [VolueEventTargetRow(event_id=event_id, customer_id=c, site_id=s, device_id=d)
            for c, s, d in found]


async def _by_id(session: AsyncSession, table: type[Any], ids: Sequence[str]) -> dict[str, Any]:
    wanted = list(dict.fromkeys(ids))
    rows: dict[str, Any] = {}
    for chunk in chunked(wanted):
        result = await session.execute(select(table).where(table.id.in_(chunk)))
        rows.update((row.id, row) for (row,) in result)
    return rows


async def plan_deliveries(session: AsyncSession, planner: OutboxPlanner, event: VolueEventRow,
                          customer_id: str) -> list[WebhookDeliveryRow]:
    """One delivery (and outbox task) per live subscription that wants the event's type."""
    subscriptions = await session.execute(
        select(WebhookSubscriptionRow).where(col(WebhookSubscriptionRow.deleted_at).is_(None)))
    deliveries = []
    for (subscription,) in subscriptions:
        if subscription.event_types and event.type not in subscription.event_types:
            continue
        delivery = WebhookDeliveryRow(id=str(uuid.uuid4()), subscription_id=subscription.id,
                                      event_id=event.id, status=WebhookDeliveryStatus.PENDING.value,
                                      attempts=0, created_at=planner.now)
        session.add(delivery)
        planner.enqueue(queue=FORWARD_QUEUE, entity_type=FORWARD_KIND, entity_id=delivery.id,
                        customer_id=customer_id)
        deliveries.append(delivery)
    return deliveries


def plan_lpc_ack(session: AsyncSession, planner: OutboxPlanner, incoming: IncomingEvent,
                 targets: Sequence[VolueEventTargetRow], customer_id: str) -> None:
    """Acknowledge an LPC request for the targets that are ours, decline the rest."""
    queue_automatic_answer(session, planner, incoming.payload,
                           event_id=incoming.volue_event_id, targets=targets, customer_id=customer_id)
