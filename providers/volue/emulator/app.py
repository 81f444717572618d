"""Emulator of the Volue Energy Coordination API (Partner Endpoints v1, sandbox).

Behaves as ``ec-sandbox-swagger.json`` and the provider guides describe:

* ``POST /connect/token``: OAuth2 client credentials (form fields or HTTP Basic);
  every Partner API route needs a valid, unexpired bearer token, else 401.
* the Partner API under ``/energy-coordination/v1``: users, locations, resources,
  vehicles, events, reports, webhooks and the sandbox simulation routes, with
  strict bodies (unknown fields, missing required fields and bad enums are 400),
  each route's declared status codes and error shapes, idempotent re-creates
  (200, counted as duplicates) and 409/400 for conflicting ones;
* the two Svalbard test areas decide eligibility; moving a location in or out
  emits a ``UserEligibility`` event, price-curve simulations target resources at
  eligible locations; events are delivered to webhooks, signed and retried;
* ``/_emulator``: fault plan, answer mode, stats, token revocation (see
  :mod:`providers.emulation`) and ``PUT /_emulator/webhooks {"dropWebhooks": true}``
  to lose webhook deliveries. In minimal answer mode the operations of :data:`BODILESS`
  succeed without a body, and every answer carries only what the document requires
  (plus ``isEnrolled``: without it an enrollment answer reads as no enrollment).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import msgspec
from litestar import Litestar, Request, Response, get, post, put
from litestar.datastructures import State

from providers.emulation import Emulation, answer_middleware, control_router, fault_middleware
from providers.volue.emulator.http import domain_error_handler, has_valid_bearer, json_response
from providers.volue.emulator.routes import API_PREFIX, VolueEmulator, api_router
from providers.volue.emulator.state import DomainError, VolueState
from providers.volue.emulator.webhooks import WebhookHub

TOKEN_PATH = "/connect/token"
BODILESS: dict[str, int] = {
    "POST /users": 200,
    "POST /users/batch": 200,
    "POST /users/{userId}/locations": 200,
    "POST /users/locations/batch": 200,
    "POST /users/{userId}/vehicles": 200,
    "POST /users/{userId}/locations/{locationId}/resources": 200,
    "POST /webhooks": 200,
    "POST /simulation/partner": 200,
    "DELETE /simulation/partner": 200,
    "DELETE /resources/{resourceId}": 204,
    "DELETE /users/{userId}": 204,
    "DELETE /users/{userId}/locations/{locationId}": 204,
    "DELETE /users/{userId}/enrollment": 204,
    "DELETE /webhooks/{webhookId}": 204,
    "PUT /webhooks/{webhookId}/enabled": 204,
}
"""The operations whose document allows a success without a body, and that status."""
KEEP_WHEN_MINIMAL = ("isEnrolled",)
Req = Request[Any, Any, Any]


class WebhookControl(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """``PUT /_emulator/webhooks`` body."""

    drop_webhooks: bool


class WebhookControlState(msgspec.Struct, kw_only=True, rename="camel"):
    drop_webhooks: bool
    dropped_deliveries: int
    pending_deliveries: int


def _oauth_error(status: int, error: str, *, basic: bool = False) -> Response[bytes]:
    headers = {"cache-control": "no-store"}
    if status == 401 and basic:
        headers["www-authenticate"] = 'Basic realm="volue-emulator"'
    return Response(
        content=msgspec.json.encode({"error": error}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _token_handler(*, client_id: str, client_secret: str, emulation: Emulation) -> Any:
    @post(TOKEN_PATH, status_code=200)
    async def issue_token(request: Req) -> Response[bytes]:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        basic = _basic_credentials(request.headers.get("authorization"))
        given_id, given_secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        valid = hmac.compare_digest(given_id.encode(), client_id.encode()) and hmac.compare_digest(
            given_secret.encode(), client_secret.encode()
        )
        if not valid:
            return _oauth_error(401 if basic else 400, "invalid_client", basic=basic is not None)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request")
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        emulation.stats.token_fetches += 1
        body = {
            "access_token": emulation.tokens.issue(),
            "token_type": "Bearer",
            "expires_in": int(emulation.tokens.ttl_s),
        }
        return Response(
            content=msgspec.json.encode(body),
            media_type="application/json",
            headers={"cache-control": "no-store"},
        )

    return issue_token


def _bearer_guard(emulation: Emulation) -> Any:
    unauthorized = Response(
        content=b"",
        status_code=401,
        headers={"www-authenticate": 'Bearer error="invalid_token"'},
    )

    async def require_token(request: Req) -> Response[bytes] | None:
        if has_valid_bearer(emulation, request.headers.get("authorization", "")):
            return None
        return unauthorized

    return require_token


def _webhook_control(hub: WebhookHub) -> list[Any]:
    def current() -> Response[bytes]:
        state = WebhookControlState(
            drop_webhooks=hub.drop_deliveries,
            dropped_deliveries=hub.dropped,
            pending_deliveries=len(hub._tasks),
        )
        return json_response(state)

    @get("/_emulator/webhooks", sync_to_thread=False, include_in_schema=False)
    def read_control() -> Response[bytes]:
        return current()

    @put("/_emulator/webhooks", sync_to_thread=False, include_in_schema=False)
    def write_control(data: WebhookControl) -> Response[bytes]:
        hub.drop_deliveries = data.drop_webhooks
        return current()

    return [read_control, write_control]


def create_app(
    *,
    client_id: str = "volue-emulator",
    client_secret: str = "volue-emulator-secret",
    token_ttl_s: float = 1800.0,
    seed: int = 0,
    webhook_retry_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0),
) -> Litestar:
    """Build the emulator app; its state is ``app.state.volue`` and ``app.state.emulation``."""
    emulation = Emulation(token_ttl_s=token_ttl_s, seed=seed, token_paths=(TOKEN_PATH,))
    store = VolueState(stats=emulation.stats, seed=seed)
    hub = WebhookHub(retry_delays_s=webhook_retry_delays_s)
    store.on_event = hub.publish
    volue = VolueEmulator(store=store, hub=hub)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = Litestar(
        route_handlers=[
            _token_handler(client_id=client_id, client_secret=client_secret, emulation=emulation),
            api_router(before_request=_bearer_guard(emulation)),
            control_router(emulation, store.entity_counts),
            *_webhook_control(hub),
        ],
        middleware=[
            fault_middleware(emulation),
            answer_middleware(emulation, prefix=API_PREFIX, bodiless=BODILESS, keep=KEEP_WHEN_MINIMAL),
        ],
        exception_handlers={DomainError: domain_error_handler},
        lifespan=[lifespan],
        state=State({"volue": volue, "emulation": emulation}),
        openapi_config=None,
        logging_config=None,
    )
    return app


__all__ = ["API_PREFIX", "TOKEN_PATH", "VolueEmulator", "create_app"]
