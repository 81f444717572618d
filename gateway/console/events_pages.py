"""The console's pages of Volue events, our webhook subscriptions and their deliveries.

Events and deliveries are listed a page at a time with their total; a delivery is sent again
with :func:`gateway.events.subscriptions.redeliver`, the function ``POST
/v1/webhook-subscriptions/{id}/deliveries/{id}/redeliver`` runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.auth import require_session, session_of
from gateway.console.listing import Paging, count, paging, pretty
from gateway.console.render import CsrfForm, Form, action, back, page
from gateway.core.domain import WebhookDeliveryStatus
from gateway.core.errors import NotFoundError
from gateway.events.service import SUBSCRIBABLE_TYPES
from gateway.events.subscriptions import redeliver
from gateway.http.audit import failures_noted, key_actor, note
from gateway.outbox.plan import OutboxPlanner
from gateway.runtime.process import Runtime
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow

PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000, description="the page, from 1")]
EventType = Annotated[str, QueryParameter(name="type", max_length=60,
                                          description="one event type (any other matches nothing)")]
DeliveryStatus = Annotated[str, Parameter(max_length=20,
                                          description="one delivery status (any other matches nothing)")]


@dataclass(frozen=True, slots=True)
class Target:
    customer_id: str | None
    label: str
    """The target's records by name: customer, site, device."""


@dataclass(frozen=True, slots=True)
class EventItem:
    event: VolueEventRow
    targets: list[Target]
    payload: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionItem:
    subscription: WebhookSubscriptionRow
    counts: dict[str, int]
    """Its deliveries by status."""


async def _targets(session: AsyncSession, event_ids: list[str]) -> dict[str, list[Target]]:
    found: dict[str, list[Target]] = defaultdict(list)
    if not event_ids:
        return found
    rows = list(await session.exec(select(VolueEventTargetRow).where(
        col(VolueEventTargetRow.event_id).in_(event_ids)).order_by(col(VolueEventTargetRow.id))))
    names: dict[str, str] = {}
    wanted = list({i for r in rows for i in (r.customer_id, r.site_id, r.device_id) if i})
    if wanted:
        for id_column, name_column in ((CustomerRow.id, CustomerRow.name), (SiteRow.id, SiteRow.name),
                                       (DeviceRow.id, DeviceRow.name)):
            named = await session.execute(sa_select(col(id_column), col(name_column))
                                          .where(col(id_column).in_(wanted)))
            names.update({entity_id: name for entity_id, name in named.all()})
    for row in rows:
        parts = [names.get(i, i) for i in (row.customer_id, row.site_id, row.device_id) if i]
        found[row.event_id].append(Target(row.customer_id, " / ".join(parts) or "no record of ours"))
    return found


async def list_events(session: AsyncSession, event_type: str, number: int) -> tuple[list[EventItem], Paging]:
    statement = select(VolueEventRow)
    if event_type:
        statement = statement.where(col(VolueEventRow.type) == event_type)
    where = paging(number, await count(session, statement), "/console/events", ("type", event_type))
    rows = list(await session.exec(statement.order_by(col(VolueEventRow.received_at).desc(),
                                                      col(VolueEventRow.id).desc())
                                   .offset(where.offset).limit(where.per_page)))
    targets = await _targets(session, [row.id for row in rows])
    return [EventItem(row, targets.get(row.id, []), pretty(row.payload)) for row in rows], where


async def _delivery_counts(session: AsyncSession, subscription_ids: list[str]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = defaultdict(dict)
    if subscription_ids:
        rows = await session.execute(
            sa_select(col(WebhookDeliveryRow.subscription_id), col(WebhookDeliveryRow.status), func.count())
            .where(col(WebhookDeliveryRow.subscription_id).in_(subscription_ids))
            .group_by(col(WebhookDeliveryRow.subscription_id), col(WebhookDeliveryRow.status)))
        for subscription_id, status, number in rows.all():
            found[subscription_id][status] = number
    return found


async def _subscription(session: AsyncSession, subscription_id: str) -> WebhookSubscriptionRow:
    row = await session.get(WebhookSubscriptionRow, subscription_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"webhook subscription {subscription_id} not found")
    return row


class EventPages(Controller):
    path = "/console"
    include_in_schema = False
    guards = [require_session]

    @get("/events", summary="Volue events, the newest first, paged")
    async def events(self, request: Request[Any, Any, Any], event_type: EventType = "",
                     number: PageNumber = 1) -> Template:
        async with Runtime.of(request).sessions() as session:
            items, where = await list_events(session, event_type, number)
        return page(request, "events.html", "events", items=items, paging=where, event_type=event_type,
                    types=SUBSCRIBABLE_TYPES)

    @get("/events/{event_id:str}", summary="One Volue event: its payload, targets and deliveries")
    async def event(self, request: Request[Any, Any, Any], event_id: str) -> Template:
        async with Runtime.of(request).sessions() as session:
            row = await session.get(VolueEventRow, event_id)
            if row is None:
                raise NotFoundError(f"event {event_id} not found")
            targets = (await _targets(session, [row.id])).get(row.id, [])
            deliveries = list(await session.exec(select(WebhookDeliveryRow).where(
                col(WebhookDeliveryRow.event_id) == event_id).order_by(col(WebhookDeliveryRow.created_at))))
        return page(request, "event.html", "events", item=EventItem(row, targets, pretty(row.payload)),
                    deliveries=deliveries)

    @get("/subscriptions", summary="Webhook subscriptions with their deliveries by status")
    async def subscriptions(self, request: Request[Any, Any, Any]) -> Template:
        async with Runtime.of(request).sessions() as session:
            rows = list(await session.exec(select(WebhookSubscriptionRow).where(
                col(WebhookSubscriptionRow.deleted_at).is_(None)).order_by(
                col(WebhookSubscriptionRow.created_at), col(WebhookSubscriptionRow.id))))
            counts = await _delivery_counts(session, [row.id for row in rows])
        items = [SubscriptionItem(row, counts.get(row.id, {})) for row in rows]
        return page(request, "subscriptions.html", "subscriptions", items=items)

    @get("/subscriptions/{subscription_id:str}", summary="A subscription's deliveries, newest first, paged")
    async def subscription(self, request: Request[Any, Any, Any], subscription_id: str,
                           status: DeliveryStatus = "", number: PageNumber = 1) -> Template:
        async with Runtime.of(request).sessions() as session:
            row = await _subscription(session, subscription_id)
            statement = select(WebhookDeliveryRow).where(col(WebhookDeliveryRow.subscription_id) == row.id)
            if status:
                statement = statement.where(col(WebhookDeliveryRow.status) == status)
            where = paging(number, await count(session, statement), f"/console/subscriptions/{row.id}",
                           ("status", status))
            deliveries = list(await session.exec(statement.order_by(
                col(WebhookDeliveryRow.created_at).desc(), col(WebhookDeliveryRow.id).desc())
                .offset(where.offset).limit(where.per_page)))
            events = {e.id: e for e in await session.exec(select(VolueEventRow).where(
                col(VolueEventRow.id).in_([d.event_id for d in deliveries])))}
            counts = (await _delivery_counts(session, [row.id])).get(row.id, {})
        return page(request, "subscription.html", "subscriptions", subscription=row, deliveries=deliveries,
                    events=events, paging=where, status=status, counts=counts,
                    statuses=[s.value for s in WebhookDeliveryStatus])

    @post("/subscriptions/{subscription_id:str}/deliveries/{delivery_id:str}/redeliver", status_code=303,
          summary="Send a delivery again now, with a fresh retry budget")
    async def redeliver(self, request: Request[Any, Any, Any], subscription_id: str, delivery_id: str,
                        data: Annotated[CsrfForm, Form]) -> Redirect:
        actor = key_actor(session_of(request), "console")
        target = f"delivery:{delivery_id}"

        async def work(session: AsyncSession, planner: OutboxPlanner) -> WebhookDeliveryRow:
            delivery = await redeliver(session, planner, subscription_id, delivery_id)
            note(session, actor, "delivery.redeliver", target)
            return delivery

        async with failures_noted(Runtime.of(request).sessions, actor, "delivery.redeliver", target):
            delivery = await action(request, work)
        return back(request, f"/console/subscriptions/{delivery.subscription_id}",
                    f"delivery {delivery.id} queued again")
