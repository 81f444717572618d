"""The gateway's own events (record synced, failed, blocked, task dead-lettered, drift found, invite
link ready, readings batch delivered) reach subscribers that ask for them, signed the Standard
Webhooks way; a subscription that names none of them gets none."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar import Litestar, Request, Response, post
from litestar.testing import AsyncTestClient
from standardwebhooks.webhooks import Webhook

from gateway.app import create_app
from gateway.bootstrap import build_adapters
from gateway.core.domain import Provider
from gateway.core.settings import Settings, load_settings
from gateway.outbox.outcomes import OUTCOME_TYPES
from gateway.reconcile.service import reconcile
from gateway.store.db import create_engine, session_factory
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced
from tests.support import eventually


@dataclass
class Receiver:
    """A subscriber on loopback that keeps every delivery whose signature verifies."""

    secrets: dict[str, str] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: int = 0

    def app(self) -> Litestar:
        @post("/in/{name:str}", status_code=204)
        async def receive(request: Request[Any, Any, Any], name: str) -> Response[None]:
            try:
                body = Webhook(self.secrets[name]).verify(await request.body(), dict(request.headers))
            except Exception:
                self.refused += 1
                return Response(None, status_code=400)
            self.received.setdefault(name, []).append(body)
            return Response(None, status_code=204)

        return Litestar(route_handlers=[receive], logging_config=None, openapi_config=None)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    with serve_in_thread(found.app()) as url:
        yield found, url + "/in"


@pytest.fixture
def outcome_settings(database_url: str, emulators: dict[str, Any]) -> Settings:
    return load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05, sync_backoff_max_s=2.0,
        forward_allowed_targets="127.0.0.0/8", secrets_key=Fernet.generate_key().decode(),
        events_poll_interval_s=0, reconcile_interval_s=0)


@pytest.fixture
async def api(outcome_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(outcome_settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _subscribe(api: AsyncTestClient, receiver: Receiver, url: str, name: str,
                     types: list[str]) -> None:
    created = await api.post("/v1/webhook-subscriptions", json={"url": f"{url}/{name}", "eventTypes": types})
    assert created.status_code == 201, created.text
    receiver.secrets[name] = created.json()["secret"]


async def test_outcome_events_reach_subscribers_that_ask(api: AsyncTestClient, emulators: dict[str, Any],
                                                         receiver: tuple[Receiver, str],
                                                         outcome_settings: Settings) -> None:
    """Every outcome type arrives verified by standardwebhooks, naming its record; a subscription
    to all of Volue's types gets none of them, and one naming a single type gets only that one."""
    found, url = receiver
    await _subscribe(api, found, url, "all", list(OUTCOME_TYPES))
    await _subscribe(api, found, url, "synced", ["record.synced"])
    await _subscribe(api, found, url, "volue", [])

    customer = (await api.post("/v1/customers", json=TREE)).json()
    site = (await api.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = (await api.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    meter = next(d for d in devices if d["kind"] == "meter")
    await wait_synced(api, [f"/v1/sites/{site['id']}", f"/v1/devices/{meter['id']}"], timeout=30)
    assert (await api.post(f"/v1/sites/{site['id']}/invites", json={})).status_code == 202
    readings = await api.post("/v1/readings", json={"readings": [
        {"deviceId": meter["id"], "obisCode": "1-1:1.8.0", "timestamp": int(time.time()) - 60,
         "value": 1.5}]})
    assert readings.status_code == 202, readings.text
    # Volue refuses a location with neither coordinates nor meter point ids: the site's task
    # dies and the charger's resource task, which waits on it, is blocked.
    refused = {**TREE, "externalRef": "c-2", "vehicles": [], "sites": [{
        **TREE["sites"][0], "externalRef": "s-2", "coordinates": None,
        "devices": [{"externalRef": "ch-2", "kind": "charger", "name": "Charger"}]}]}
    assert (await api.post("/v1/customers", json=refused)).status_code == 201
    emulators["volue"].state.volue.store.delete_location(customer["id"], site["id"])
    engine = create_engine(outcome_settings.store.database_url)
    try:
        async with build_adapters(outcome_settings) as adapters:
            await reconcile(session_factory(engine), adapters, [Provider.VOLUE])
    finally:
        await engine.dispose()

    def every_type() -> bool:
        return {body["type"] for body in found.received.get("all", [])} >= set(OUTCOME_TYPES)

    await eventually(every_type, what="every outcome type at the subscriber", timeout=30.0)
    bodies = found.received["all"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        by_type.setdefault(body["type"], []).append(body["data"])
    synced = {(d["payload"]["entityId"], d["payload"]["provider"]) for d in by_type["record.synced"]}
    assert (customer["id"], "volue") in synced and (site["id"], "zaehlerfreunde") in synced
    assert all(d["source"] == "gateway" and d["targets"] for d in by_type["record.synced"])
    failed = by_type["record.failed"][0]["payload"]
    assert failed["entityType"] == "site" and failed["provider"] == "volue" and failed["error"]
    assert by_type["task.dead_lettered"][0]["payload"]["taskId"] == failed["taskId"]
    assert by_type["record.blocked"][0]["payload"]["blockedBy"] == failed["taskId"]
    drift = {(d["payload"]["entityId"], d["payload"]["drift"]) for d in by_type["drift.found"]}
    assert (site["id"], "missing") in drift
    assert by_type["invite.link_ready"][0]["payload"]["inviteLink"].startswith("http")
    assert by_type["readings.batch_delivered"][0]["targets"][0]["customerId"] == customer["id"]
    await eventually(lambda: len(found.received.get("synced", [])) >= len(by_type["record.synced"]),
                     what="every record.synced at the second subscriber", timeout=30.0)
    assert {b["type"] for b in found.received["synced"]} == {"record.synced"}
    assert "volue" not in found.received and found.refused == 0
