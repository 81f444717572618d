"""``POST /v1/providers/volue/webhook``: Volue's event notifications, signature-checked.

No API key: the signature is the authentication. ``x-payload-signature`` must be
base64(HMAC-SHA256(raw body, secret)) for one of the known secrets, checked in
constant time over the exact bytes received. The seed's ``Spark-Signature`` (the
secret itself, in clear) is accepted instead, on a notification without that header,
only when ``GATEWAY_VOLUE_ACCEPT_LEGACY_SIGNATURE`` is on. The secrets are
``GATEWAY_VOLUE_WEBHOOK_SECRET`` and those of the webhooks registered with
``gateway volue webhooks register`` (decrypted, cached for a few seconds).

A signed notification must also be fresh: one whose ``notificationSentUtc`` is more than
``GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S`` (a day) old, or more than :data:`AHEAD_TOLERANCE_S`
ahead of our clock, is refused with a 400 naming ``notificationSentUtc``, so a captured
notification cannot be replayed later as new. Within that window a replay is a duplicate:
notification ids are kept at least that long (:mod:`gateway.outbox.retention`). An event
whose notification was refused is still caught up by the reconciliation poll.

The handler stores the event (once per ``notificationId`` and per event id),
commits, wakes the workers and answers 200; forwarding and acknowledgements
run in the workers. Volue's notification schema, its signature and its mapping to a canonical
event are Volue's event format (``providers.registry.event_format``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import HeaderParameter
from sqlmodel import select

from gateway.core.clock import as_utc, utcnow
from gateway.core.errors import InvalidError, UnauthorizedError
from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import Settings, SettingsError
from gateway.events.service import EVENTS_FROM, IncomingEvent, store_event
from gateway.http.deps import decode
from gateway.observability.metrics import count_webhook_delivery
from gateway.outbox.unit_of_work import unit_of_work
from gateway.runtime.process import Runtime
from gateway.store.event_tables import VolueWebhookRow
from providers.registry import event_format

log = logging.getLogger("gateway.volue.webhook")
FORMAT = event_format(EVENTS_FROM)
"""Volue's notifications: their schema, signature and canonical form."""
PATH = "/v1/providers/volue/webhook"
AHEAD_TOLERANCE_S = 300.0
"""How far ahead of our clock a notification's ``notificationSentUtc`` may be (clock skew)."""


class Received(msgspec.Struct, rename="camel", kw_only=True):
    event_id: str
    duplicate: bool


class WebhookSecrets:
    """The secrets a notification may be signed with, re-read every ``ttl_s`` seconds."""

    def __init__(self, *, settings: Settings, ttl_s: float = 5.0) -> None:
        self.settings = settings
        self.ttl_s = ttl_s
        self._until = 0.0
        self._secrets: tuple[str, ...] = ()

    async def current(self, state: State) -> tuple[str, ...]:
        if time.monotonic() < self._until:
            return self._secrets
        found = [self.settings.volue.webhook_secret.value] if self.settings.volue.webhook_secret else []
        async with Runtime.of_state(state).sessions() as session:
            # A pending registration's secret, and a rotation's new one, are accepted too: Volue
            # may hold them already.
            sealed = [secret for row in await session.exec(select(VolueWebhookRow))
                      for secret in (row.secret_sealed, row.pending_secret_sealed) if secret]
        if sealed:
            try:
                box = SecretsBox.from_settings(self.settings)
                found.extend(box.open(value) for value in sealed)
            except SettingsError as exc:
                log.error("registered webhook secrets unusable: %s", exc)
        self._secrets = tuple(dict.fromkeys(found))
        self._until = time.monotonic() + self.ttl_s
        return self._secrets

    def forget(self) -> None:
        """Re-read on the next request (after a webhook was registered or deleted)."""
        self._until = 0.0


def authentic(body: bytes, headers: Mapping[str, str], secrets: Sequence[str], *,
              accept_legacy: bool = False) -> bool:
    """Whether the notification is signed with one of ``secrets`` (see the module docstring)."""
    return FORMAT.authentic(body, headers, secrets, accept_legacy=accept_legacy)


def staleness(sent: datetime, *, now: datetime, max_age_s: float) -> str | None:
    """Why a notification sent at ``sent`` is not fresh at ``now`` (None when it is)."""
    sent = as_utc(sent)
    if sent < now - timedelta(seconds=max_age_s):
        return (f"the notification was sent at {sent.isoformat()}, more than {max_age_s:g} s ago "
                "(GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S)")
    if sent > now + timedelta(seconds=AHEAD_TOLERANCE_S):
        return (f"the notification was sent at {sent.isoformat()}, more than {AHEAD_TOLERANCE_S:g} s "
                "ahead of the gateway's clock")
    return None


def _secrets_of(state: State) -> WebhookSecrets:
    cache: WebhookSecrets | None = state.get("volue_webhook_secrets")
    if cache is None:
        cache = WebhookSecrets(settings=state.settings)
        state.volue_webhook_secrets = cache
    return cache


@post(PATH, status_code=200, tags=["volue"], summary="Receive a Volue event notification",
      description=("Authenticated by `x-payload-signature` (base64 HMAC-SHA256 of the exact body) "
                   "instead of an API key: 401 without a valid one. The handler reads the body "
                   "itself, since the signature covers its exact bytes. A notification whose "
                   "`notificationSentUtc` is older than `GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S` (or more "
                   "than 5 minutes ahead) is a 400 naming that field."),
      security=[], include_in_schema=True, opt={"body": FORMAT.notification_type, "errors": (401,)})
async def volue_webhook(
    request: Request[Any, Any, Any],
    signature: Annotated[str | None, HeaderParameter(
        name=FORMAT.signature_header, description="base64(HMAC-SHA256(body, webhook secret))")] = None,
) -> Received:
    body = await request.body()
    state = request.app.state
    secrets = await _secrets_of(state).current(state)
    accept_legacy = state.settings.volue.accept_legacy_signature
    if not secrets or not authentic(body, request.headers, secrets, accept_legacy=accept_legacy):
        client = request.client.host if request.client else "unknown"
        log.warning("refused a Volue notification from %s: %s", client,
                    "no webhook secret is configured" if not secrets else "signature mismatch")
        count_webhook_delivery("volue", "unauthenticated")
        raise UnauthorizedError("the notification's signature does not verify")
    try:
        note = FORMAT.notice(decode(body, FORMAT.notification_type, sent_by="a Volue notification"))
    except InvalidError:
        count_webhook_delivery("volue", "invalid")
        raise
    now = utcnow()
    stale = staleness(note.sent_at, now=now,
                      max_age_s=state.settings.volue.webhook_max_age_s)
    if stale is not None:
        log.warning("refused a stale Volue notification %s: %s", note.notification_id, stale)
        count_webhook_delivery("volue", "stale")
        raise InvalidError(stale, field="notificationSentUtc")
    runtime = Runtime.of(request)
    async with unit_of_work(runtime.sessions, runtime.dispatcher) as uow:
        stored = await store_event(uow.session, uow.planner, IncomingEvent.from_notice(note, now),
                                   settings=state.settings)
    answer = Received(event_id=stored.event_id, duplicate=stored.row is None)
    count_webhook_delivery("volue", "duplicate" if stored.row is None else "accepted")
    return answer
