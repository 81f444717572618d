"""Forwarding events to internal subscribers, signed the Standard Webhooks way.

Each ``webhook_deliveries`` row is one event for one subscription; its id is
the ``webhook-id`` header on every attempt, so a receiver can drop repeats.
Headers (https://www.standardwebhooks.com/):

* ``webhook-id``: the delivery id;
* ``webhook-timestamp``: Unix seconds of the attempt;
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
  the key being the base64 part of the subscription's ``whsec_...`` secret.

One outbox task is one attempt. A failed attempt finishes its task and queues
the next one after an exponential backoff with full jitter, until the first
attempt is older than ``GATEWAY_FORWARD_MAX_AGE_S`` (24 h): then the delivery
is ``failed`` and its last task dead. This gives deliveries an age limit of
their own instead of the engine's attempt cap. Ops can redeliver by hand.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.domain import TaskStatus, WebhookDeliveryStatus
from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import Settings, SettingsError
from gateway.core.targets import Resolver, TargetPolicy, TargetRefused, check_target
from gateway.events.service import EventRead, event_read
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.policy import backoff_s
from gateway.outbox.queues import FORWARD_KIND, FORWARD_QUEUE
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import OutboxTaskRow, table_of
from providers.base import Outcome
from providers.transport import UpstreamTransport

log = logging.getLogger("gateway.forwarding")
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class Envelope(msgspec.Struct, kw_only=True):
    """The body a subscriber receives."""

    type: str
    timestamp: datetime
    data: EventRead


@dataclass(slots=True)
class Attempt:
    """What one delivery attempt did, carried from ``run`` to ``record``."""

    at: datetime
    delivered: bool
    status: int | None = None
    error: str | None = None


class ForwardingKind:
    """``TaskKind`` delivering ``webhook_deliveries`` on the ``subscribers`` queue."""

    entity_type = FORWARD_KIND
    queue = FORWARD_QUEUE

    def __init__(self, *, settings: Settings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.policy = TargetPolicy.parse(settings.forwarding.allowed_targets)
        self.resolver = resolver
        """How subscriber host names are resolved before each delivery (default: the system's)."""
        self._box: SecretsBox | None = None

    def _secrets(self) -> SecretsBox:
        if self._box is None:
            self._box = SecretsBox.from_settings(self.settings)
        return self._box

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        loaded = await _load(engine, [r.task.entity_id for r in results])
        try:
            box = self._secrets()
        except SettingsError as exc:
            for result in results:
                result.fatal_reason = str(exc)
            return
        limit = asyncio.Semaphore(self.settings.worker.concurrency)
        wait_s = self.settings.forwarding.timeout_s
        timeout = httpx.Timeout(wait_s, connect=min(5.0, wait_s))
        # The aiohttp transport keeps the pinning below: the URL names the checked address,
        # the Host header is sent as given and ``sni_hostname`` becomes aiohttp's
        # ``server_hostname`` (TLS SNI and certificate check), which is also part of its pool
        # key, so a connection checked for one name is not reused for another at the same
        # address; it never follows redirects.
        transport = UpstreamTransport(limits=httpx.Limits())
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                     transport=transport) as client:
            await asyncio.gather(*(self._one(client, limit, box, loaded, r) for r in results))

    async def _one(self, client: httpx.AsyncClient, limit: asyncio.Semaphore, box: SecretsBox,
                   loaded: _Loaded, result: RoundResult) -> None:
        delivery = loaded.deliveries.get(result.task.entity_id)
        if delivery is None:
            result.fatal_reason = f"delivery {result.task.entity_id} no longer exists"
            return
        subscription = loaded.subscriptions.get(delivery.subscription_id)
        event = loaded.events.get(delivery.event_id)
        if subscription is None or subscription.deleted_at is not None or event is None:
            result.fatal_reason = "the subscription was deleted"
            result.detail = Attempt(at=utcnow(), delivered=False, error=result.fatal_reason)
            return
        body = msgspec.json.encode(Envelope(
            type=event.type, timestamp=as_utc(event.created_at),
            data=event_read(event, loaded.targets.get(event.id, []))))
        async with limit:
            now = utcnow()
            stamp = int(now.timestamp())
            headers = {
                "content-type": "application/json",
                "user-agent": "energy-gateway-webhooks/1",
                "webhook-id": delivery.id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(box.open(subscription.secret_sealed), delivery.id, stamp, body),
            }
            try:
                target = await check_target(subscription.url, self.policy, resolver=self.resolver)
                # Connect to the address just checked; the name goes in Host and TLS SNI.
                headers["host"] = target.host_header()
                response = await client.post(target.pinned_url(), content=body, headers=headers,
                                             extensions={"sni_hostname": target.host})
            except TargetRefused as exc:
                attempt = Attempt(at=now, delivered=False, error=str(exc)[:500])
            except httpx.HTTPError as exc:
                attempt = Attempt(at=now, delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
            else:
                ok = 200 <= response.status_code < 300
                attempt = Attempt(at=now, delivered=ok, status=response.status_code,
                                  error=None if ok else f"HTTP {response.status_code}")
        result.detail = attempt
        first = as_utc(delivery.first_attempt_at) or now
        if attempt.delivered:
            result.outcome = Outcome(external_id=None)
        elif now - first >= timedelta(seconds=self.settings.forwarding.max_age_s):
            result.fatal_reason = f"gave up after {self.settings.forwarding.max_age_s} s: {attempt.error}"
        else:
            result.outcome = Outcome(external_id=None, note="attempt failed; next one queued")

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        table = table_of(WebhookDeliveryRow)
        for result in results:
            attempt = result.detail if isinstance(result.detail, Attempt) else None
            delivery = await session.get(WebhookDeliveryRow, result.task.entity_id)
            if delivery is None:
                continue
            values: dict[str, Any] = {"attempts": delivery.attempts + (1 if attempt else 0)}
            if attempt is not None:
                values.update(last_attempt_at=attempt.at, last_status=attempt.status,
                              last_error=attempt.error, next_attempt_at=None)
                if delivery.first_attempt_at is None:
                    values["first_attempt_at"] = attempt.at
            if attempt is not None and attempt.delivered:
                values.update(status=WebhookDeliveryStatus.DELIVERED.value, delivered_at=attempt.at)
            elif result.outcome is not None:
                run_after = (attempt.at if attempt else utcnow()) + timedelta(seconds=backoff_s(
                    values["attempts"], base_s=self.settings.sync.backoff_base_s,
                    max_s=self.settings.forwarding.backoff_max_s))
                values.update(status=WebhookDeliveryStatus.RETRYING.value, next_attempt_at=run_after)
                session.add(_attempt_task(result.task, run_after))
            else:
                values["status"] = WebhookDeliveryStatus.FAILED.value
                if attempt is None:
                    values["last_error"] = result.fatal_reason
            await session.execute(update(table).where(table.c.id == delivery.id).values(**values))


def _attempt_task(previous: OutboxTaskRow, run_after: datetime) -> OutboxTaskRow:
    now = utcnow()
    return OutboxTaskRow(id=str(uuid.uuid4()), provider=FORWARD_QUEUE, entity_type=FORWARD_KIND,
                         entity_id=previous.entity_id, customer_id=previous.customer_id,
                         action=previous.action, status=TaskStatus.PENDING.value, attempts=0,
                         run_after=run_after, created_at=now, updated_at=now)


@dataclass(slots=True)
class _Loaded:
    deliveries: dict[str, WebhookDeliveryRow]
    subscriptions: dict[str, WebhookSubscriptionRow]
    events: dict[str, VolueEventRow]
    targets: dict[str, list[VolueEventTargetRow]]


async def _load(engine: SyncEngine, delivery_ids: list[str]) -> _Loaded:
    """The deliveries of a round with their subscriptions, events and targets, in four queries."""
    async with engine.sessions() as session:
        deliveries = {row.id: row for (row,) in await session.execute(
            select(WebhookDeliveryRow).where(col(WebhookDeliveryRow.id).in_(delivery_ids)))}
        sub_ids = list({d.subscription_id for d in deliveries.values()})
        event_ids = list({d.event_id for d in deliveries.values()})
        subscriptions = {row.id: row for (row,) in await session.execute(
            select(WebhookSubscriptionRow).where(col(WebhookSubscriptionRow.id).in_(sub_ids)))}
        events = {row.id: row for (row,) in await session.execute(
            select(VolueEventRow).where(col(VolueEventRow.id).in_(event_ids)))}
        targets: dict[str, list[VolueEventTargetRow]] = {}
        for (target,) in await session.execute(
            select(VolueEventTargetRow).where(col(VolueEventTargetRow.event_id).in_(event_ids))
            .order_by(col(VolueEventTargetRow.id))
        ):
            targets.setdefault(target.event_id, []).append(target)
    return _Loaded(deliveries, subscriptions, events, targets)
