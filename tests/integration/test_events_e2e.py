"""End to end over real HTTP: Volue emulator → gateway webhook → store → subscriber; the poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar, Request, Response, post
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway.app import create_app
from gateway.core.settings import Settings, load_settings
from gateway.events.receiver import PATH
from gateway.ops.volue_commands import delete_webhook, list_webhooks, register_webhook
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE
from tests.support import eventually

T = TypeVar("T")
SVALBARD_AREA_1 = {"latitude": 79.52, "longitude": 15.97}


@dataclass
class Subscriber:
    """A tiny internal service that accepts only deliveries that verify with its secret."""

    secret: str = ""
    verified: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    def app(self) -> Litestar:
        @post("/hook", status_code=204)
        async def hook(request: Request[Any, Any, Any]) -> Response[None]:
            body = await request.body()
            try:
                payload = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.refused += 1
                return Response(None, status_code=401)
            self.verified.append({"id": request.headers["webhook-id"], "payload": payload})
            return Response(None, status_code=204)

        return Litestar(route_handlers=[hook], logging_config=None, openapi_config=None)


@dataclass
class Stack:
    gateway: httpx.AsyncClient
    gateway_url: str
    volue: httpx.AsyncClient
    volue_app: Any
    subscriber: Subscriber
    subscriber_url: str
    settings: Settings


@pytest.fixture
def subscriber() -> Iterator[tuple[Subscriber, str]]:
    receiver = Subscriber()
    with serve_in_thread(receiver.app()) as url:
        yield receiver, url + "/hook"


@pytest.fixture
async def stack(database_url: str, emulators: dict[str, Any],
                subscriber: tuple[Subscriber, str]) -> AsyncIterator[Stack]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        secrets_key=Fernet.generate_key().decode(), events_poll_interval_s=1,
        forward_allowed_targets="127.0.0.0/8",  # the test subscriber listens on loopback
    )
    async with httpx.AsyncClient() as plain:
        token = (await plain.post(emulators["volue_url"] + "/connect/token", data={
            "grant_type": "client_credentials", "client_id": "volue-emulator",
            "client_secret": "volue-emulator-secret"})).json()["access_token"]
    with serve_in_thread(create_app(settings)) as gateway_url:
        async with httpx.AsyncClient(base_url=gateway_url,
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as gateway, \
                httpx.AsyncClient(base_url=emulators["volue_url"],
                                  headers={"Authorization": f"Bearer {token}"}) as volue:
            yield Stack(gateway=gateway, gateway_url=gateway_url, volue=volue,
                        volue_app=emulators["volue"], subscriber=subscriber[0],
                        subscriber_url=subscriber[1], settings=settings)


async def _synced(client: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    body = (await client.get(path)).json()
    return body if body["sync"] and all(v["status"] == "synced" for v in body["sync"].values()) else None


async def _eligible_site(stack: Stack) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A customer whose site was moved into a Svalbard test area, synced to Volue."""
    customer = (await stack.gateway.post("/v1/customers", json=TREE)).json()
    site = (await stack.gateway.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = (await stack.gateway.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    tank = next(d for d in devices if d["kind"] == "hot_water_tank")
    for path in [f"/v1/sites/{site['id']}", f"/v1/devices/{tank['id']}"]:
        await eventually(lambda path=path: _synced(stack.gateway, path))  # type: ignore[misc]
    moved = await stack.gateway.patch(f"/v1/sites/{site['id']}", json={"coordinates": SVALBARD_AREA_1})
    assert moved.status_code == 200, moved.text
    await eventually(lambda: _synced(stack.gateway, f"/v1/sites/{site['id']}"))
    return customer, site, tank


async def _events(stack: Stack, **params: str) -> list[dict[str, Any]]:
    response = await stack.gateway.get("/v1/events", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_price_curve_reaches_subscriber_and_poll_fills_gaps(stack: Stack) -> None:
    """Eligibility and a price curve arrive by webhook with resolved targets and reach a verifying
    subscriber; with webhooks dropped the poll stores the next curve, exactly once."""
    hook = await register_webhook(stack.settings, url=stack.gateway_url + PATH)
    created = await stack.gateway.post("/v1/webhook-subscriptions", json={
        "url": stack.subscriber_url, "eventTypes": ["PriceCurveCreated"], "description": "pricing"})
    assert created.status_code == 201, created.text
    subscription = created.json()
    stack.subscriber.secret = subscription["secret"]
    customer, site, tank = await _eligible_site(stack)

    eligibility = await eventually(lambda: _events(stack, type="UserEligibilityUpdated",
                                                   customerId=customer["id"]))
    assert eligibility[0]["targets"] == [{"customerId": customer["id"], "siteId": None, "deviceId": None}]

    simulated = await stack.volue.post("/energy-coordination/v1/simulation/events/pricecurve", json={})
    assert simulated.status_code == 200, simulated.text
    volue_event_id = simulated.json()["simulatedEvent"]["id"]
    curve = (await eventually(lambda: _events(stack, type="PriceCurveCreated", siteId=site["id"])))[0]
    assert curve["volueEventId"] == volue_event_id
    assert curve["targets"] == [{"customerId": customer["id"], "siteId": site["id"], "deviceId": tank["id"]}]
    hub = stack.volue_app.state.volue.hub
    assert any(e.delivered and e.log.partner_event_id == volue_event_id for e in hub.logs.values())

    await eventually(lambda: asyncio.sleep(0, result=stack.subscriber.verified))
    delivered = stack.subscriber.verified[0]
    assert delivered["payload"]["type"] == "PriceCurveCreated"
    assert delivered["payload"]["data"]["id"] == curve["id"]
    assert delivered["payload"]["data"]["targets"] == curve["targets"]
    assert stack.subscriber.refused == 0

    async def delivery_log() -> list[dict[str, Any]] | None:
        log = (await stack.gateway.get(
            f"/v1/webhook-subscriptions/{subscription['id']}/deliveries")).json()["items"]
        return log if log and log[0]["status"] != "pending" else None

    log = await eventually(delivery_log)
    assert [(d["id"], d["status"], d["attempts"]) for d in log] == [(delivered["id"], "delivered", 1)]

    dropped = await stack.volue.put("/_emulator/webhooks", json={"dropWebhooks": True})
    assert dropped.status_code == 200
    missed = await stack.volue.post("/energy-coordination/v1/simulation/events/pricecurve", json={})
    missed_id = missed.json()["simulatedEvent"]["id"]

    async def polled() -> list[dict[str, Any]] | None:
        found = [e for e in await _events(stack, type="PriceCurveCreated") if e["volueEventId"] == missed_id]
        return found or None

    stored = await polled_or_fail(polled)
    assert stored[0]["source"] == "poll"
    assert stored[0]["targets"] == curve["targets"]
    await asyncio.sleep(2.5)  # two more polls
    every = await _events(stack, limit="1000")
    assert [e["volueEventId"] for e in every].count(missed_id) == 1
    assert [e["volueEventId"] for e in every].count(volue_event_id) == 1
    await eventually(lambda: asyncio.sleep(0, result=len(stack.subscriber.verified) == 2))
    assert {v["payload"]["data"]["volueEventId"] for v in stack.subscriber.verified} == {
        volue_event_id, missed_id}

    listed = await list_webhooks(stack.settings)
    assert [(h.webhook_id, ours) for h, ours in listed] == [(hook.webhook_id, True)]
    assert await delete_webhook(stack.settings, hook.webhook_id)
    assert await list_webhooks(stack.settings) == []


async def polled_or_fail(probe: Callable[[], Awaitable[T | None]]) -> T:
    """The poll runs every second; give it a few rounds."""
    return await eventually(probe, timeout=15.0)
