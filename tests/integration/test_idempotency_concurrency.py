"""``Idempotency-Key`` under concurrency: copies of one POST sent at once run it exactly once.

The gateway runs under uvicorn on 127.0.0.1 with its embedded worker and both emulators,
so the copies really overlap; afterwards the emulators' own counts show one upstream call.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar, post
from sqlalchemy import func, select, update
from sqlmodel import SQLModel

from gateway.app import create_app
from gateway.core.clock import utcnow
from gateway.core.domain import TaskStatus
from gateway.core.settings import Settings, load_settings
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import VolueReportRow, WebhookSubscriptionRow
from gateway.store.invite_tables import InviteRow
from gateway.store.ops_tables import TaskDismissalRow
from gateway.store.reading_tables import ReadingRow
from gateway.store.tables import CustomerRow, DeviceRow, IdempotencyKeyRow, OutboxTaskRow, SiteRow
from providers.emulation import serve_in_thread
from providers.volue import schemas as vs
from providers.volue.webhooks import sign
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE
from tests.support import eventually

COPIES = 20
VOLUE_SECRET = "volue-secret"
IN_PROGRESS = "/idempotency-in-progress"
T0 = 1_700_000_000


@dataclass(frozen=True)
class Stack:
    """The served gateway, its emulators and a client of the API."""

    api: httpx.AsyncClient
    database_url: str
    volue: Litestar
    zf: Litestar
    subscriber_url: str

    def upstream(self, provider: str, entity: str) -> int:
        """How many ``entity`` records the provider's emulator holds."""
        if provider == "volue":
            counts: dict[str, int] = self.volue.state.volue.store.entity_counts()
        else:
            counts = self.zf.state.zaehlerfreunde.entity_counts()
        return counts[entity]


@dataclass(frozen=True)
class Case:
    """One POST route: how to prepare a request, and what one execution of it adds."""

    prepare: Callable[[Stack], Awaitable[tuple[str, Any]]]
    table: type[SQLModel]
    """Rows of this table grow by ``added(first response)`` for one execution."""
    added: Callable[[Any], int] = lambda _: 1
    upstream: tuple[str, str] | None = None
    """(provider, entity) the emulator stores one more of after the worker sent the request."""


def _settings(database_url: str, volue_url: str, zf_url: str, **extra: Any) -> Settings:
    return load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=volue_url + "/energy-coordination/v1", zf_base_url=zf_url + "/partner",
        volue_webhook_secret=VOLUE_SECRET, secrets_key=Fernet.generate_key().decode(),
        events_poll_interval_s=0, sync_backoff_base_s=0.05, sync_backoff_max_s=1.0,
        forward_allowed_targets="127.0.0.0/8",  # the test subscriber listens on loopback
        **extra,
    )


def _subscriber() -> Litestar:
    @post("/in", status_code=204)
    async def receive() -> None:
        return None

    return Litestar([receive], logging_config=None)


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, str, str, Litestar, Litestar]]:
    """Both emulators, a subscriber that accepts every delivery, and the gateway, all served."""
    from providers.volue.emulator.app import create_app as volue_app
    from providers.zaehlerfreunde.emulator.app import create_app as zf_app

    volue, zf = volue_app(), zf_app()
    with serve_in_thread(volue) as volue_url, serve_in_thread(zf) as zf_url, \
            serve_in_thread(_subscriber()) as subscriber_url, \
            serve_in_thread(create_app(_settings(database_url, volue_url, zf_url))) as api_url:
        yield api_url, subscriber_url + "/in", database_url, volue, zf


@pytest.fixture
async def stack(served: tuple[str, str, str, Litestar, Litestar]) -> Any:
    api_url, subscriber_url, database_url, volue, zf = served
    async with httpx.AsyncClient(base_url=api_url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        yield Stack(api=api, database_url=database_url, volue=volue, zf=zf,
                    subscriber_url=subscriber_url)


async def _count(database_url: str, table: type[SQLModel]) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int((await session.execute(select(func.count()).select_from(table))).scalar_one())
    finally:
        await engine.dispose()


async def _tree(stack: Stack) -> dict[str, Any]:
    """A customer with a site (meter and tank) and a vehicle, synced at both providers."""
    created = await stack.api.post("/v1/customers", json=TREE)
    assert created.status_code == 201, created.text
    customer = created.json()
    site = (await stack.api.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = {d["kind"]: d for d in (await stack.api.get(f"/v1/sites/{site['id']}/devices")).json()["items"]}
    vehicle = (await stack.api.get(f"/v1/customers/{customer['id']}/vehicles")).json()["items"][0]

    async def synced() -> bool:
        tasks = (await stack.api.get("/v1/sync/tasks", params={"limit": 1000})).json()["items"]
        return all(t["status"] == TaskStatus.DONE for t in tasks)

    await eventually(synced, what="the customer's tree synced", timeout=30.0)
    return {"customer": customer, "site": site, "meter": devices["meter"], "vehicle": vehicle}


def _customer_body(ref: str) -> dict[str, Any]:
    return {**{k: v for k, v in TREE.items() if k != "vehicles"}, "externalRef": ref,
            "sites": [{**TREE["sites"][0], "externalRef": f"{ref}-s"}]}


async def _new_customer(stack: Stack) -> tuple[str, Any]:
    return "/v1/customers", _customer_body("race-1")


async def _new_batch(stack: Stack) -> tuple[str, Any]:
    return "/v1/customers/batch", {"customers": [_customer_body("race-b")]}


async def _new_site(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return f"/v1/customers/{tree['customer']['id']}/sites", {
        "externalRef": "s-2", "name": "Naust", "kind": "residential",
        "address": {"line1": "Vei 2", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
        "coordinates": {"latitude": 78.22, "longitude": 15.64}}


async def _new_device(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return f"/v1/sites/{tree['site']['id']}/devices", {
        "externalRef": "c-2", "kind": "charger", "name": "Wallbox"}


async def _new_vehicle(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return f"/v1/customers/{tree['customer']['id']}/vehicles", {
        "externalRef": "v-2", "name": "Van", "brand": "Volvo", "model": "EX90", "year": 2024,
        "vin": "YV1XZEFV0R2000001"}


async def _resync(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return "/v1/sync/resync", {"entityType": "site", "entityId": tree["site"]["id"]}


async def _bulk_retry(stack: Stack) -> tuple[str, Any]:
    await _retry(stack)  # leaves the customer's task dead
    return "/v1/sync/tasks/retry", {"kind": "customer"}


async def _retry(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    engine = create_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            task = (await session.execute(
                select(OutboxTaskRow.id).where(OutboxTaskRow.entity_id == tree["customer"]["id"])
            )).scalars().first()
            await session.execute(update(OutboxTaskRow).where(OutboxTaskRow.id == task)
                                  .values(status=TaskStatus.DEAD.value))
            await session.commit()
    finally:
        await engine.dispose()
    return f"/v1/sync/tasks/{task}/retry", None


async def _dismiss(stack: Stack) -> tuple[str, Any]:
    path, _ = await _retry(stack)  # leaves the customer's task dead
    return path.removesuffix("/retry") + "/dismiss", {"reason": "the customer left"}


async def _subscription(stack: Stack) -> tuple[str, Any]:
    return "/v1/webhook-subscriptions", {"url": stack.subscriber_url}


async def _redeliver(stack: Stack) -> tuple[str, Any]:
    subscription = (await stack.api.post("/v1/webhook-subscriptions",
                                         json={"url": stack.subscriber_url})).json()
    note = vs.EventNotification(
        notification_id="n-1", event_id="e-1", event_created_at_utc=utcnow(),
        notification_sent_utc=utcnow(), notification_type=vs.NotificationType.USER_ELIGIBILITY_UPDATED,
        payload=vs.UserEligibilityPayload(last_updated=utcnow(), added_users=["u"], removed_users=[]))
    body = msgspec.json.encode(note)
    received = await stack.api.post("/v1/providers/volue/webhook", content=body,
                                    headers={"x-payload-signature": sign(body, VOLUE_SECRET)})
    assert received.status_code == 200, received.text
    path = f"/v1/webhook-subscriptions/{subscription['id']}/deliveries"

    async def delivered() -> bool:
        return [d["status"] for d in (await stack.api.get(path)).json()["items"]] == ["delivered"]

    await eventually(delivered, what="the first delivery", timeout=30.0)
    delivery = (await stack.api.get(path)).json()["items"][0]
    return f"{path}/{delivery['id']}/redeliver", None


async def _device_energy_usage(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return f"/v1/devices/{tree['vehicle']['id']}/energy-usage", {
        "points": [{"timestamp": "2025-03-01T00:00:00Z", "kwh": 7.5}]}


async def _energy_usage_plan(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    point = [{"timestamp": "2025-03-01T00:00:00Z", "kwh": 1.0}]
    return f"/v1/sites/{tree['site']['id']}/energy-usage-plan", {"baseline": point, "flexibility": point}


async def _lpc_answer(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)
    target = vs.LocationLPCTarget(
        location_id=tree["site"]["id"], meter_point_id="707057500012345678", resolution="01:00:00",
        points=[vs.LPCDataPoint(max_power_in_kilo_watts=5.0, timestamp=start)])
    note = vs.EventNotification(
        notification_id="n-lpc", event_id="e-lpc", event_created_at_utc=utcnow(),
        notification_sent_utc=utcnow(), notification_type=vs.NotificationType.LOCATION_LPC_REQUESTED,
        payload=vs.LocationLPCPayload(targets=[target]))
    body = msgspec.json.encode(note)
    received = await stack.api.post("/v1/providers/volue/webhook", content=body,
                                    headers={"x-payload-signature": sign(body, VOLUE_SECRET)})
    assert received.status_code == 200, received.text
    event = (await stack.api.get("/v1/events", params={"siteId": tree["site"]["id"]})).json()["items"][0]
    return f"/v1/events/{event['id']}/lpc-acknowledgement", {"decline": [tree["site"]["id"]]}


async def _energy_usage(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return f"/v1/sites/{tree['site']['id']}/energy-usage", {
        "points": [{"timestamp": "2025-03-01T00:00:00Z", "kwh": 1.25}]}


async def _readings(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return "/v1/readings", {"readings": [
        {"deviceId": tree["meter"]["id"], "obisCode": "1-1:1.8.0", "timestamp": T0, "value": 1.5}]}


async def _invite(stack: Stack) -> tuple[str, Any]:
    tree = await _tree(stack)
    return f"/v1/sites/{tree['site']['id']}/invites", {}


CASES: dict[str, Case] = {
    "/v1/customers": Case(_new_customer, CustomerRow, upstream=("volue", "users")),
    "/v1/customers/batch": Case(_new_batch, CustomerRow, upstream=("zaehlerfreunde", "spaces")),
    "/v1/customers/{customer_id:str}/sites": Case(_new_site, SiteRow,
                                                  upstream=("zaehlerfreunde", "spaces")),
    "/v1/sites/{site_id:str}/devices": Case(_new_device, DeviceRow, upstream=("volue", "resources")),
    "/v1/customers/{customer_id:str}/vehicles": Case(_new_vehicle, DeviceRow,
                                                     upstream=("volue", "resources")),
    "/v1/sync/resync": Case(_resync, OutboxTaskRow, added=len),
    "/v1/sync/tasks/{task_id:str}/retry": Case(_retry, OutboxTaskRow, added=lambda _: 0),
    "/v1/sync/tasks/retry": Case(_bulk_retry, OutboxTaskRow, added=lambda _: 0),
    "/v1/sync/tasks/{task_id:str}/dismiss": Case(_dismiss, TaskDismissalRow),
    "/v1/webhook-subscriptions": Case(_subscription, WebhookSubscriptionRow),
    "/v1/webhook-subscriptions/{subscription_id:str}/deliveries/{delivery_id:str}/redeliver":
        Case(_redeliver, OutboxTaskRow),
    "/v1/devices/{device_id:str}/energy-usage": Case(_device_energy_usage, VolueReportRow,
                                                     upstream=("volue", "reports")),
    "/v1/sites/{site_id:str}/energy-usage-plan": Case(_energy_usage_plan, VolueReportRow,
                                                      upstream=("volue", "reports")),
    "/v1/events/{event_id:str}/lpc-acknowledgement": Case(_lpc_answer, VolueReportRow,
                                                          upstream=("volue", "reports")),
    "/v1/sites/{site_id:str}/energy-usage": Case(_energy_usage, VolueReportRow,
                                                 upstream=("volue", "reports")),
    "/v1/readings": Case(_readings, ReadingRow, upstream=("zaehlerfreunde", "readings")),
    "/v1/sites/{site_id:str}/invites": Case(_invite, InviteRow, upstream=("zaehlerfreunde", "invites")),
}


def _api_post_routes() -> list[str]:
    """Every POST route that takes an API key (the Volue webhook is signed, and deduplicated
    on its notification id instead)."""
    app = create_app(load_settings({}, admin_api_key=ADMIN_KEY), embedded_worker=False)
    return sorted(
        route.path for route in app.routes for handler in getattr(route, "route_handlers", [])
        if "POST" in (handler.http_methods or ()) and handler.opt.get("scope")
    )


def test_every_post_route_has_a_case() -> None:
    """The concurrency test below covers every POST route of the API, new ones included."""
    assert sorted(CASES) == _api_post_routes()


@pytest.mark.parametrize("route", _api_post_routes())
async def test_concurrent_copies_execute_once(stack: Stack, route: str) -> None:
    """20 copies of one POST with one key at once: one runs, the rest replay it or get 409
    in progress; one set of rows is written and the provider receives one call."""
    case = CASES[route]
    path, body = await case.prepare(stack)
    rows = await _count(stack.database_url, case.table)
    upstream = stack.upstream(*case.upstream) if case.upstream else 0
    headers = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    responses = await asyncio.gather(*(
        stack.api.post(path, json=body, headers=headers) for _ in range(COPIES)))
    executed = [r for r in responses if r.headers.get("idempotent-replayed") == "false"]
    assert len(executed) == 1, [(r.status_code, r.text) for r in responses]
    first = executed[0]
    assert first.status_code < 400, first.text
    for response in responses:
        if response.headers.get("idempotent-replayed") == "true":
            assert (response.status_code, response.json()) == (first.status_code, first.json())
        elif response is not first:
            assert response.status_code == 409, response.text
            assert response.json()["type"].endswith(IN_PROGRESS)
            assert response.headers["retry-after"]
    assert await _count(stack.database_url, case.table) == rows + case.added(first.json())
    if case.upstream is not None:
        provider, entity = case.upstream

        async def arrived() -> bool:
            return stack.upstream(provider, entity) >= upstream + 1

        await eventually(arrived, what=f"{provider} {entity}", timeout=30.0)
        await asyncio.sleep(0.5)
        assert stack.upstream(provider, entity) == upstream + 1


def _digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def _reserve(database_url: str, raw_key: str, digest: str, age_s: float) -> None:
    """Leave the reservation a request made ``age_s`` ago and never answered."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            session.add(IdempotencyKeyRow(key=f"admin:{raw_key}", request_hash=digest,
                                          holder=str(uuid.uuid4()),
                                          created_at=utcnow() - timedelta(seconds=age_s)))
            await session.commit()
    finally:
        await engine.dispose()


async def test_expired_reservation_lets_a_retry_execute_once(stack: Stack) -> None:
    """A key held by a request that died is taken over once its reservation expires; the
    retry runs once and its copies replay it."""
    path, body = await _new_customer(stack)
    raw = msgspec.json.encode(body)
    await _reserve(stack.database_url, "crashed", _digest("POST", path, raw), age_s=60)
    headers = {"Idempotency-Key": "crashed", "Content-Type": "application/json"}
    responses = await asyncio.gather(*(
        stack.api.post(path, content=raw, headers=headers) for _ in range(COPIES)))
    executed = [r for r in responses if r.headers.get("idempotent-replayed") == "false"]
    assert len(executed) == 1 and executed[0].status_code == 201, [r.text for r in responses]
    assert await _count(stack.database_url, CustomerRow) == 1
    again = await stack.api.post(path, content=raw, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == executed[0].json()["id"]


async def test_live_reservation_answers_409_in_progress(stack: Stack) -> None:
    """While another request holds the key, a copy waits, then gets 409 with Retry-After; a
    different body under the key stays 422."""
    path, body = await _new_customer(stack)
    raw = msgspec.json.encode(body)
    await _reserve(stack.database_url, "running", _digest("POST", path, raw), age_s=0)
    headers = {"Idempotency-Key": "running", "Content-Type": "application/json"}
    waiting = await stack.api.post(path, content=raw, headers=headers)
    assert waiting.status_code == 409, waiting.text
    assert waiting.headers["content-type"].startswith("application/problem+json")
    assert waiting.json()["type"].endswith(IN_PROGRESS)
    assert int(waiting.headers["retry-after"]) >= 1
    other = await stack.api.post(path, json=_customer_body("other"), headers=headers)
    assert other.status_code == 422, other.text
    assert await _count(stack.database_url, CustomerRow) == 0
