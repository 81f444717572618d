"""Finding any record by any of its ids (the console header's search), and one task's page.

An id may be ours (a customer, site, device, task, event, subscription, delivery or API key),
a provider's (an upstream id in a provider link, Volue's event id), or the caller's
(an ``externalRef``); a search looks for all of them at once and lists what it found.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.customer_views import CallView, call_views
from gateway.core.errors import NotFoundError
from gateway.store.event_tables import VolueEventRow, WebhookDeliveryRow, WebhookSubscriptionRow
from gateway.store.tables import (
    ApiKeyRow,
    CustomerRow,
    DeviceRow,
    OutboxTaskRow,
    ProviderLinkRow,
    SiteRow,
    UpstreamCallRow,
)

HITS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Hit:
    """One record a search found: what it is, why it matched, and where its page is."""

    kind: str
    label: str
    matched: str
    """Which of its ids (or fields) equals the search."""
    href: str
    detail: str = ""


async def _names(session: AsyncSession, ids: set[str]) -> dict[str, tuple[str, str, str]]:
    """Record ids to (kind, name, customer id) for customers, sites and devices."""
    found: dict[str, tuple[str, str, str]] = {}
    if not ids:
        return found
    wanted = list(ids)
    for customer in await session.exec(select(CustomerRow).where(col(CustomerRow.id).in_(wanted))):
        found[customer.id] = ("customer", customer.name, customer.id)
    for site in await session.exec(select(SiteRow).where(col(SiteRow.id).in_(wanted))):
        found[site.id] = ("site", site.name, site.customer_id)
    for device in await session.exec(select(DeviceRow).where(col(DeviceRow.id).in_(wanted))):
        found[device.id] = (device.kind, device.name, device.customer_id)
    return found


def record_href(kind: str, entity_id: str, customer_id: str) -> str:
    if kind == "customer":
        return f"/console/customers/{customer_id}"
    return f"/console/customers/{customer_id}#record-{entity_id}"


async def search(session: AsyncSession, text: str) -> list[Hit]:
    """Everything whose id, upstream id or externalRef is ``text`` (externalRefs in any case)."""
    text = text.strip()
    if not text:
        return []
    hits: list[Hit] = []
    lowered = text.lower()
    records: list[CustomerRow | SiteRow | DeviceRow] = [
        *await session.exec(select(CustomerRow).where(or_(
            col(CustomerRow.id) == text, func.lower(CustomerRow.external_ref) == lowered)).limit(HITS_SHOWN)),
        *await session.exec(select(SiteRow).where(or_(
            col(SiteRow.id) == text, func.lower(SiteRow.external_ref) == lowered)).limit(HITS_SHOWN)),
        *await session.exec(select(DeviceRow).where(or_(
            col(DeviceRow.id) == text, func.lower(DeviceRow.external_ref) == lowered)).limit(HITS_SHOWN)),
    ]
    for row in records:
        if isinstance(row, CustomerRow):
            kind, shown, customer_id = "customer", "customer", row.id
        elif isinstance(row, SiteRow):
            kind, shown, customer_id = "site", "site", row.customer_id
        else:
            kind, shown, customer_id = "device", row.kind, row.customer_id
        matched = "id" if row.id == text else "externalRef"
        gone = " (deleted)" if row.deleted_at is not None else ""
        hits.append(Hit(shown, row.name + gone, matched, record_href(kind, row.id, customer_id),
                        f"externalRef {row.external_ref}"))
    links = list(await session.exec(select(ProviderLinkRow).where(
        col(ProviderLinkRow.external_id) == text).limit(HITS_SHOWN)))
    names = await _names(session, {link.entity_id for link in links})
    for link in links:
        kind, name, customer_id = names.get(link.entity_id, (link.entity_type, link.entity_id, ""))
        href = record_href(kind if kind in ("customer", "site") else "device", link.entity_id, customer_id) \
            if customer_id else f"/console/search?q={link.entity_id}"
        hits.append(Hit(kind, name, f"upstream id at {link.provider}", href,
                        f"{link.provider}: {link.status}"))
    task = await session.get(OutboxTaskRow, text)
    if task is not None:
        hits.append(Hit("task", f"{task.provider} {task.entity_type} {task.action}", "id",
                        f"/console/tasks/{task.id}", task.status))
    events = await session.exec(select(VolueEventRow).where(
        or_(col(VolueEventRow.id) == text, col(VolueEventRow.volue_event_id) == text)).limit(HITS_SHOWN))
    for event in events:
        matched = "id" if event.id == text else "Volue's event id"
        hits.append(Hit("event", event.type, matched, f"/console/events/{event.id}", event.source))
    subscription = await session.get(WebhookSubscriptionRow, text)
    if subscription is not None:
        hits.append(Hit("webhook subscription", subscription.url, "id",
                        f"/console/subscriptions/{subscription.id}", subscription.description or ""))
    delivery = await session.get(WebhookDeliveryRow, text)
    if delivery is not None:
        hits.append(Hit("webhook delivery", f"event {delivery.event_id}", "id",
                        f"/console/subscriptions/{delivery.subscription_id}#delivery-{delivery.id}",
                        delivery.status))
    keys = await session.exec(select(ApiKeyRow).where(
        or_(col(ApiKeyRow.id) == text, col(ApiKeyRow.prefix) == lowered)).limit(HITS_SHOWN))
    for key in keys:
        matched = "id" if key.id == text else "prefix"
        hits.append(Hit("API key", key.name, matched, f"/console/keys#key-{key.id}",
                        "revoked" if key.revoked_at else "active"))
    return hits


@dataclass(frozen=True, slots=True)
class TaskPage:
    task: OutboxTaskRow
    record: str
    """The task's record by name (its id when it is not a customer, site or device)."""
    record_href: str | None
    customer: CustomerRow | None
    blocked_by: OutboxTaskRow | None
    calls: list[CallView]
    trace_id: str | None


async def task_page(session: AsyncSession, task_id: str) -> TaskPage:
    """One outbox task: what it does, where it stands, and the upstream calls it made."""
    task = await session.get(OutboxTaskRow, task_id)
    if task is None:
        raise NotFoundError(f"task {task_id} not found")
    customer = await session.get(CustomerRow, task.customer_id) if task.customer_id else None
    names = await _names(session, {task.entity_id})
    kind, name, owner = names.get(task.entity_id, (task.entity_type, task.entity_id, ""))
    href = record_href(kind if kind in ("customer", "site") else "device", task.entity_id, owner) \
        if owner else None
    blocked_by = await session.get(OutboxTaskRow, task.blocked_by) if task.blocked_by else None
    stored = list(await session.exec(select(UpstreamCallRow).where(col(UpstreamCallRow.task_id) == task_id)
                                     .order_by(col(UpstreamCallRow.id).desc()).limit(200)))
    calls = await call_views(session, stored, {task.entity_id: name})
    parts = (task.trace_context or "").split("-")
    trace_id = parts[1] if len(parts) == 4 else next((c.trace_id for c in calls if c.trace_id), None)
    return TaskPage(task=task, record=name, record_href=href, customer=customer, blocked_by=blocked_by,
                    calls=calls, trace_id=trace_id)
