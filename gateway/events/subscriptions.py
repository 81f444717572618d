"""``/v1/webhook-subscriptions``: internal services that receive Volue events (scope ``ops``).

The signing secret (``whsec_...``) is returned once, by the create; it is stored
encrypted. Deliveries are listed per subscription and can be sent again by hand.

Creates and deletes honour ``Idempotency-Key``. A create replayed after its subscription was
deleted answers 404 rather than the kept answer, which would show the secret of a
subscription that no longer exists; the delivery log of a deleted subscription is 404 too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import TaskStatus, WebhookDeliveryStatus
from gateway.core.errors import ConflictError, InvalidError, NotFoundError
from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import SettingsError
from gateway.core.targets import TargetPolicy, TargetRefused, check_registration
from gateway.core.wire import Wire
from gateway.events.forwarding import new_secret
from gateway.events.service import SUBSCRIBABLE_TYPES
from gateway.http.audit import audited_write
from gateway.http.deps import provide_session
from gateway.http.pages import (
    DEFAULT_LIMIT,
    TIME_AND_ID,
    Cursor,
    Limit,
    Page,
    after,
    decode_cursor,
    page_of,
)
from gateway.http.scopes import OPS
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import FORWARD_KIND, FORWARD_QUEUE
from gateway.runtime.process import Runtime
from gateway.store.event_tables import WebhookDeliveryRow, WebhookSubscriptionRow
from gateway.store.tables import OutboxTaskRow


class SubscriptionCreate(Wire):
    url: Annotated[str, Meta(min_length=1, max_length=2000)]
    event_types: Annotated[list[str], Meta(max_length=len(SUBSCRIBABLE_TYPES))] = msgspec.field(
        default_factory=list)
    """Empty: every Volue event type; the gateway's own types (``record.synced`` ...) are
    sent only to subscriptions that name them."""
    description: Annotated[str, Meta(max_length=500)] | None = None


class SubscriptionRead(Wire):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionRead):
    secret: str
    """The signing secret, shown this once."""


class DeliveryRead(Wire):
    id: str
    subscription_id: str
    event_id: str
    status: str
    attempts: int
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


def check_url(url: str) -> None:
    """Subscriber URLs are absolute http(s) URLs with a host, no credentials, no fragment."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise InvalidError("url is not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidError("url must use http or https", field="url")
    if not parts.hostname:
        raise InvalidError("url needs a host", field="url")
    if parts.username or parts.password:
        raise InvalidError("url must not carry credentials", field="url")
    if parts.fragment or any(ch.isspace() for ch in url):
        raise InvalidError("url must not have a fragment or white space", field="url")


def subscription_read(row: WebhookSubscriptionRow) -> SubscriptionRead:
    return SubscriptionRead(id=row.id, url=row.url, event_types=row.event_types,
                            description=row.description,
                            created_at=as_utc(row.created_at))


def delivery_read(row: WebhookDeliveryRow) -> DeliveryRead:
    return DeliveryRead(
        id=row.id, subscription_id=row.subscription_id, event_id=row.event_id, status=row.status,
        attempts=row.attempts, first_attempt_at=as_utc(row.first_attempt_at),
        last_attempt_at=as_utc(row.last_attempt_at), next_attempt_at=as_utc(row.next_attempt_at),
        delivered_at=as_utc(row.delivered_at), last_status=row.last_status, last_error=row.last_error,
        created_at=as_utc(row.created_at),
    )


async def _live(session: AsyncSession, subscription_id: str) -> WebhookSubscriptionRow:
    row = await session.get(WebhookSubscriptionRow, subscription_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"webhook subscription {subscription_id} not found")
    return row


async def _replayable(request: Request[Any, Any, Any], replay: Response[Any]) -> None:
    """Refuse (404) the replay of a create whose subscription was deleted since."""
    created = msgspec.json.decode(replay.content, type=SubscriptionCreated)
    async with Runtime.of(request).sessions() as session:
        row = await session.get(WebhookSubscriptionRow, created.id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"webhook subscription {created.id}, which this request created, was deleted "
                            "since; its secret is not shown again", field="Idempotency-Key")


async def redeliver(session: AsyncSession, planner: OutboxPlanner, subscription_id: str,
                    delivery_id: str) -> WebhookDeliveryRow:
    """Queue a delivery again now with a fresh retry budget (the API's and the console's redeliver);
    its queued attempt is cancelled, one under way is a conflict."""
    await _live(session, subscription_id)
    delivery = await session.get(WebhookDeliveryRow, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFoundError(f"delivery {delivery_id} not found")
    open_tasks = list(await session.exec(
        select(OutboxTaskRow).where(
            OutboxTaskRow.entity_id == delivery_id,
            col(OutboxTaskRow.status).in_((TaskStatus.PENDING, TaskStatus.RUNNING)))))
    if any(t.status == TaskStatus.RUNNING for t in open_tasks):
        raise ConflictError("an attempt of this delivery is under way")
    for task in open_tasks:
        task.status, task.updated_at = TaskStatus.CANCELLED.value, planner.now
    delivery.status, delivery.first_attempt_at = WebhookDeliveryStatus.PENDING.value, None
    delivery.next_attempt_at = None
    planner.enqueue(queue=FORWARD_QUEUE, entity_type=FORWARD_KIND, entity_id=delivery.id,
                    customer_id=open_tasks[0].customer_id if open_tasks else "")
    return delivery


class SubscriptionController(Controller):
    path = "/v1/webhook-subscriptions"
    tags = ["webhook subscriptions"]
    dependencies = {"session": provide_session}

    @post("/", opt={**OPS, "errors": (404,)}, status_code=201, summary="Subscribe a URL to Volue events",
          description="404 when the request is a replay (same Idempotency-Key) of a create whose "
                      "subscription was deleted since: its secret is not shown again.")
    async def create(self, request: Request[Any, Any, Any], data: SubscriptionCreate
                     ) -> Response[SubscriptionCreated]:
        body = await request.body()
        check_url(data.url)
        state = request.app.state
        try:
            await check_registration(data.url, TargetPolicy.parse(state.settings.forwarding.allowed_targets),
                                     resolver=state.get("target_resolver"))
        except TargetRefused as exc:
            raise InvalidError(str(exc), field="url") from None
        for index, event_type in enumerate(data.event_types):
            if event_type not in SUBSCRIBABLE_TYPES:
                known = ", ".join(SUBSCRIBABLE_TYPES)
                raise InvalidError(f"unknown event type {event_type!r}; one of {known}",
                                   field=f"eventTypes[{index}]")
        try:
            box = SecretsBox.from_settings(request.app.state.settings)
        except SettingsError as exc:
            raise ConflictError(f"subscriptions cannot be stored: {exc}") from None

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            secret = new_secret()
            row = WebhookSubscriptionRow(id=str(uuid.uuid4()), url=data.url,
                                         event_types=list(dict.fromkeys(data.event_types)),
                                         description=data.description, secret_sealed=box.seal(secret),
                                         created_at=planner.now)
            session.add(row)
            read = subscription_read(row)
            return 201, SubscriptionCreated(**msgspec.structs.asdict(read), secret=secret)

        # the response carries the signing secret: the copy kept for replays is sealed too
        answer = await write(request, body, work, seal=box)
        if answer.headers.get("Idempotent-Replayed") == "true" and answer.status_code == 201:
            await _replayable(request, answer)
        return answer

    @get("/", opt=OPS, summary="Live subscriptions, oldest first")
    async def list_subscriptions(self, session: AsyncSession, cursor: Cursor = None,
                                 limit: Limit = DEFAULT_LIMIT) -> Page[SubscriptionRead]:
        order = [col(WebhookSubscriptionRow.created_at), col(WebhookSubscriptionRow.id)]
        query = select(WebhookSubscriptionRow).where(col(WebhookSubscriptionRow.deleted_at).is_(None))
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID)))
        rows = list(await session.exec(query.order_by(*order).limit(limit + 1)))
        return page_of(rows, limit, lambda row: (row.created_at, row.id), subscription_read)

    @get("/{subscription_id:str}", opt=OPS, summary="One subscription")
    async def read(self, session: AsyncSession, subscription_id: str) -> SubscriptionRead:
        return subscription_read(await _live(session, subscription_id))

    @delete("/{subscription_id:str}", opt=OPS, status_code=204,
            summary="End a subscription; queued deliveries are dropped")
    async def remove(self, request: Request[Any, Any, Any], subscription_id: str) -> Response[None]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await _live(session, subscription_id)
            row.deleted_at = planner.now
            return 204, None

        return await write(request, b"", work)

    @get("/{subscription_id:str}/deliveries", opt=OPS, summary="The delivery log, newest first")
    async def deliveries(
        self, session: AsyncSession, subscription_id: str,
        status: Annotated[str | None,
                          Parameter(pattern="^(" + "|".join(WebhookDeliveryStatus) + ")$")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[DeliveryRead]:
        await _live(session, subscription_id)
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.subscription_id == subscription_id)
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status)
        order = [col(WebhookDeliveryRow.created_at), col(WebhookDeliveryRow.id)]
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID), descending=True))
        rows = list(await session.exec(query.order_by(*(c.desc() for c in order)).limit(limit + 1)))
        return page_of(rows, limit, lambda row: (row.created_at, row.id), delivery_read)

    @post("/{subscription_id:str}/deliveries/{delivery_id:str}/redeliver", opt=OPS, status_code=202,
          summary="Send a delivery again now, with a fresh 24 h retry budget")
    async def redeliver(self, request: Request[Any, Any, Any], subscription_id: str,
                        delivery_id: str) -> Response[DeliveryRead]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 202, delivery_read(await redeliver(session, planner, subscription_id, delivery_id))

        return await audited_write(request, b"", work, action="delivery.redeliver",
                                   target=f"delivery:{delivery_id}")
