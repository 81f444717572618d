"""Webhook registrations, notification logs and signed delivery for the Volue emulator.

Each event goes to every enabled webhook whose ``notificationTypes`` include the
event's type (a webhook registered without types receives every type). Delivery
runs in background tasks on one ``httpx.AsyncClient``: the first attempt at once,
then one retry after each delay in ``retry_delays_s`` until a 2xx answer. Each
notification has one log entry, updated after every attempt.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import msgspec

from providers.volue import schemas as s
from providers.volue.emulator.state import Event, NotFound, utcnow
from providers.volue.webhooks import signature_headers

TENANT_ID = "volue-emulator"


@dataclass(slots=True)
class Webhook:
    webhook_id: str
    webhook_url: str
    name: str | None
    secret: str | None
    notification_types: list[s.NotificationType]
    enabled: bool = True
    status: s.WebhookStatus = s.WebhookStatus.NEW
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    last_analyzed: datetime = field(default_factory=utcnow)

    def wants(self, notification_type: s.NotificationType) -> bool:
        return self.enabled and (
            not self.notification_types or notification_type in self.notification_types
        )

    def to_wire(self) -> s.GetWebhookResponse:
        return s.GetWebhookResponse(
            webhook_id=self.webhook_id,
            webhook_url=self.webhook_url,
            name=self.name,
            notification_types=list(self.notification_types),
            enabled=self.enabled,
            status=self.status,
            modified_date=self.modified,
            created_date=self.created,
            last_analyzed_timestamp=self.last_analyzed,
        )


@dataclass(slots=True)
class NotificationLog:
    log: s.WebhookNotificationLog
    content: str
    attempts: int = 0
    delivered: bool = False


class WebhookHub:
    """Webhook registrations, their delivery and the notification logs."""

    def __init__(self, *, retry_delays_s: tuple[float, ...], timeout_s: float = 5.0) -> None:
        self.retry_delays_s = retry_delays_s
        self.timeout_s = timeout_s
        self.webhooks: dict[str, Webhook] = {}
        self.logs: dict[str, NotificationLog] = {}
        self.drop_deliveries = False
        self.dropped = 0
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every delivery under way has finished (for tests)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    # ------------------------------------------------------------ registry

    def webhook(self, webhook_id: str) -> Webhook:
        found = self.webhooks.get(webhook_id)
        if found is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return found

    def create(self, req: s.PostWebhookRequest) -> Webhook:
        hook = Webhook(
            webhook_id=str(uuid.uuid4()),
            webhook_url=req.webhook_url,
            name=req.name,
            secret=req.webhook_secret,
            notification_types=list(dict.fromkeys(req.notification_types or ())),
        )
        self.webhooks[hook.webhook_id] = hook
        return hook

    def replace(self, webhook_id: str, req: s.PutWebhookRequest) -> Webhook:
        """Replace a webhook; a secret left out keeps the current one (it is never readable)."""
        hook = self.webhook(webhook_id)
        hook.webhook_url = req.webhook_url
        hook.name = req.name
        if req.webhook_secret is not None:
            hook.secret = req.webhook_secret
        hook.notification_types = list(dict.fromkeys(req.notification_types or ()))
        if req.enabled is not None:
            hook.enabled = req.enabled
        hook.modified = utcnow()
        return hook

    def patch(self, webhook_id: str, req: s.PatchWebhookRequest) -> Webhook:
        hook = self.webhook(webhook_id)
        if req.webhook_url is not None:
            hook.webhook_url = req.webhook_url
        if req.name is not None:
            hook.name = req.name
        if req.webhook_secret is not None:
            hook.secret = req.webhook_secret
        if req.notification_types is not None:
            hook.notification_types = list(dict.fromkeys(req.notification_types))
        if req.enabled is not None:
            hook.enabled = req.enabled
        hook.modified = utcnow()
        return hook

    def set_enabled(self, webhook_id: str, enabled: bool) -> None:
        hook = self.webhook(webhook_id)
        hook.enabled = enabled
        hook.modified = utcnow()

    def delete(self, webhook_id: str) -> None:
        self.webhook(webhook_id)
        del self.webhooks[webhook_id]

    def log(self, notification_id: str) -> NotificationLog:
        found = self.logs.get(notification_id)
        if found is None:
            raise NotFound(f"notification {notification_id} not found")
        return found

    # ------------------------------------------------------------ delivery

    def publish(self, event: Event) -> None:
        """Start delivering ``event`` to every webhook that wants it."""
        notification_type = s.NOTIFICATION_TYPE_BY_PAYLOAD[type(event.payload)]
        targets = [hook for hook in self.webhooks.values() if hook.wants(notification_type)]
        if not targets:
            return
        if self.drop_deliveries:
            self.dropped += len(targets)
            return
        for hook in targets:
            self._schedule(hook, event, notification_type)

    def _schedule(self, hook: Webhook, event: Event, notification_type: s.NotificationType) -> None:
        sent = utcnow()
        notification = s.EventNotification(
            notification_id=str(uuid.uuid4()),
            event_id=event.id,
            event_created_at_utc=event.created_at,
            notification_sent_utc=sent,
            notification_type=notification_type,
            payload=event.payload,
        )
        body = msgspec.json.encode(notification)
        headers = signature_headers(body, hook.secret)
        headers["content-type"] = "application/json"
        entry = NotificationLog(
            log=s.WebhookNotificationLog(
                webhook_id=hook.webhook_id,
                tenant_id=TENANT_ID,
                partner_event_id=event.id,
                notification_id=notification.notification_id,
                notification_type=notification_type,
                notification_sent=sent,
                spark_signature=headers["x-payload-signature"],
                webhook_url=hook.webhook_url,
                request_timeout=False,
                response_status_code=None,
                request_duration_ms=None,
            ),
            content=body.decode(),
        )
        self.logs[notification.notification_id] = entry
        task = asyncio.get_running_loop().create_task(self._deliver(hook, entry, body, headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, hook: Webhook, entry: NotificationLog, body: bytes, headers: dict[str, str]
    ) -> None:
        await self.start()
        assert self._client is not None
        delays = (0.0, *self.retry_delays_s)
        for delay in delays:
            if delay:
                await asyncio.sleep(delay)
            entry.attempts += 1
            began = time.perf_counter()
            status: int | None = None
            timed_out = False
            try:
                response = await self._client.post(hook.webhook_url, content=body, headers=headers)
                status = response.status_code
            except httpx.TimeoutException:
                timed_out = True
            except httpx.HTTPError:
                status = None
            duration = int((time.perf_counter() - began) * 1000)
            entry.log.response_status_code = status
            entry.log.request_timeout = timed_out
            entry.log.request_duration_ms = duration
            hook.last_analyzed = utcnow()
            if status is not None and 200 <= status < 300:
                entry.delivered = True
                hook.status = s.WebhookStatus.HEALTHY
                return
            hook.status = s.WebhookStatus.TIME_OUT if timed_out else s.WebhookStatus.UNHEALTHY
