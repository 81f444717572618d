"""Webhook subscriptions: the API, URL and type checks, retries with backoff, the age limit,
the delivery log and manual redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar, Request, Response, post
from litestar.testing import AsyncTestClient
from standardwebhooks.webhooks import Webhook

from gateway.app import create_app
from gateway.core.clock import utcnow
from gateway.core.settings import load_settings
from providers.emulation import serve_in_thread
from providers.volue import schemas as vs
from providers.volue.webhooks import sign
from tests.conftest import ADMIN_KEY
from tests.support import eventually

VOLUE_SECRET = "volue-secret"
LOOPBACK = "127.0.0.0/8, billing.internal, host.internal"
"""The test subscribers listen on loopback, which webhooks may reach only when allowed; the named
hosts are never delivered to, and allowed names are not looked up when registered."""


def _settings(database_url: str, **extra: Any) -> Any:
    extra.setdefault("forward_allowed_targets", LOOPBACK)
    return load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                         volue_webhook_secret=VOLUE_SECRET, secrets_key=Fernet.generate_key().decode(),
                         events_poll_interval_s=0, sync_backoff_base_s=0.05, **extra)


@pytest.fixture
async def ops(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API without a worker."""
    async with AsyncTestClient(create_app(_settings(database_url), embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


@dataclass
class Flaky:
    """A subscriber answering 500 while ``failing`` is set, 204 (after verifying) otherwise."""

    secret: str = ""
    failing: bool = True
    calls: int = 0
    ids: tuple[str, ...] = ()

    def app(self) -> Litestar:
        @post("/in", status_code=204)
        async def receive(request: Request[Any, Any, Any]) -> Response[None]:
            self.calls += 1
            if self.failing:
                return Response(None, status_code=500)
            Webhook(self.secret).verify(await request.body(), dict(request.headers))
            self.ids = (*self.ids, request.headers["webhook-id"])
            return Response(None, status_code=204)

        return Litestar(route_handlers=[receive], logging_config=None, openapi_config=None)


@pytest.fixture
def flaky() -> Iterator[tuple[Flaky, str]]:
    receiver = Flaky()
    with serve_in_thread(receiver.app()) as url:
        yield receiver, url + "/in"


async def _notify(client: AsyncTestClient, event_id: str) -> None:
    note = vs.EventNotification(
        notification_id=f"n-{event_id}", event_id=event_id, event_created_at_utc=utcnow(),
        notification_sent_utc=utcnow(), notification_type=vs.NotificationType.USER_ELIGIBILITY_UPDATED,
        payload=vs.UserEligibilityPayload(last_updated=utcnow(), added_users=["u"], removed_users=[]))
    body = msgspec.json.encode(note)
    response = await client.post("/v1/providers/volue/webhook", content=body,
                                 headers={"x-payload-signature": sign(body, VOLUE_SECRET)})
    assert response.status_code == 200, response.text


async def _deliveries(client: AsyncTestClient, subscription_id: str) -> list[dict[str, Any]]:
    return list((await client.get(f"/v1/webhook-subscriptions/{subscription_id}/deliveries")).json()["items"])


async def _until(client: AsyncTestClient, subscription_id: str, status: str,
                 timeout: float = 20.0) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    async def latest_is() -> dict[str, Any] | None:
        nonlocal seen
        seen = await _deliveries(client, subscription_id)
        return seen[0] if seen and seen[0]["status"] == status else None

    try:
        return await eventually(latest_is, what=f"delivery {status}", timeout=timeout)
    except AssertionError:
        raise AssertionError(f"delivery not {status}: {seen}") from None


async def test_secret_is_shown_once(ops: AsyncTestClient) -> None:
    """The create returns a whsec_ secret; reads and lists never show it; delete ends it."""
    created = await ops.post("/v1/webhook-subscriptions", json={
        "url": "https://billing.internal/hooks", "eventTypes": ["PriceCurveCreated"], "description": "b"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    read = (await ops.get(f"/v1/webhook-subscriptions/{body['id']}")).json()
    assert "secret" not in read and read["eventTypes"] == ["PriceCurveCreated"]
    listed = await ops.get("/v1/webhook-subscriptions")
    assert body["secret"] not in listed.text and [s["id"] for s in listed.json()["items"]] == [body["id"]]
    assert (await ops.delete(f"/v1/webhook-subscriptions/{body['id']}")).status_code == 204
    assert (await ops.get(f"/v1/webhook-subscriptions/{body['id']}")).status_code == 404
    assert (await ops.get("/v1/webhook-subscriptions")).json()["items"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://files.internal/x"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "http:///nohost"}, "url"),
    ({"url": "https://user:pw@host.internal/"}, "url"),
    ({"url": "https://host.internal:99999/"}, "url"),
    ({"url": "https://host.internal/", "eventTypes": ["PriceCurveCreated", "Nope"]}, "eventTypes[1]"),
    ({"url": "https://host.internal/", "colour": "red"}, "colour"),
    ({"eventTypes": []}, "url"),
])
async def test_bad_subscriptions_name_the_field(ops: AsyncTestClient, body: dict[str, Any],
                                                field: str) -> None:
    """Non-http(s) URLs, unknown event types and unknown fields are refused naming the field."""
    response = await ops.post("/v1/webhook-subscriptions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


async def test_subscription_routes_need_the_ops_scope(ops: AsyncTestClient) -> None:
    """Without an API key the subscription routes answer 401."""
    response = await ops.get("/v1/webhook-subscriptions", headers={"Authorization": ""})
    assert response.status_code == 401


async def test_failed_deliveries_retry_until_delivered(database_url: str, flaky: tuple[Flaky, str]) -> None:
    """A subscriber failing at first gets the same webhook-id again with backoff until it accepts."""
    receiver, url = flaky
    async with AsyncTestClient(create_app(_settings(database_url))) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        sub = (await client.post("/v1/webhook-subscriptions", json={"url": url})).json()
        receiver.secret = sub["secret"]
        await _notify(client, "ev-retry")
        retrying = await _until(client, sub["id"], "retrying")
        assert retrying["lastStatus"] == 500 and retrying["nextAttemptAt"] is not None
        await asyncio.sleep(0.3)
        receiver.failing = False
        delivered = await _until(client, sub["id"], "delivered")
        assert delivered["attempts"] == receiver.calls >= 2
        assert receiver.ids == (delivered["id"],)
        assert delivered["firstAttemptAt"] < delivered["deliveredAt"]


async def test_age_limit_fails_delivery_and_redelivery_sends_it(database_url: str,
                                                                flaky: tuple[Flaky, str]) -> None:
    """Past the max age a delivery fails for good; a manual redelivery then sends it."""
    receiver, url = flaky
    settings = _settings(database_url, forward_max_age_s=1)
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        sub = (await client.post("/v1/webhook-subscriptions", json={"url": url})).json()
        receiver.secret = sub["secret"]
        await _notify(client, "ev-age")
        failed = await _until(client, sub["id"], "failed")
        assert failed["attempts"] >= 2 and failed["lastError"] == "HTTP 500"
        dead = (await client.get("/v1/sync/tasks", params={"status": "dead"})).json()["items"]
        assert [t["entityId"] for t in dead] == [failed["id"]]
        receiver.failing = False
        again = await client.post(
            f"/v1/webhook-subscriptions/{sub['id']}/deliveries/{failed['id']}/redeliver")
        assert again.status_code == 202, again.text
        delivered = await _until(client, sub["id"], "delivered")
        assert delivered["id"] == failed["id"] and receiver.ids == (failed["id"],)
        missing = await client.post(f"/v1/webhook-subscriptions/{sub['id']}/deliveries/nope/redeliver")
        assert missing.status_code == 404


async def test_only_matching_types_are_delivered(database_url: str, flaky: tuple[Flaky, str]) -> None:
    """A subscription for price curves gets no delivery for an eligibility event."""
    _, url = flaky
    async with AsyncTestClient(create_app(_settings(database_url), embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        prices = (await client.post("/v1/webhook-subscriptions", json={
            "url": url, "eventTypes": ["PriceCurveCreated"]})).json()
        everything = (await client.post("/v1/webhook-subscriptions", json={"url": url})).json()
        await _notify(client, "ev-types")
        assert await _deliveries(client, prices["id"]) == []
        assert [d["status"] for d in await _deliveries(client, everything["id"])] == ["pending"]
