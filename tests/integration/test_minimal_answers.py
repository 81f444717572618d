"""The gateway's main flows against the smallest answers the provider documents allow (both
emulators in minimal answer mode): onboarding sync, the events poll, webhook registration and
Volue's delivery logs, and the drift reconciliation's read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from litestar.testing import AsyncTestClient

from gateway.bootstrap import build_adapters
from gateway.core.domain import Provider
from gateway.core.settings import Settings, load_settings
from gateway.events.poll import reconcile as poll_events
from gateway.ops.volue_commands import list_webhooks, register_webhook, webhook_logs
from gateway.reconcile.service import compare
from gateway.store.db import create_engine, session_factory
from tests.conftest import ADMIN_KEY
from tests.integration.test_reconcile import _customer, _tree
from tests.integration.test_volue_ops import receiver_url as receiver_url

API = "/energy-coordination/v1"


@pytest.fixture
def minimal(emulators: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Both emulators answer only what their documents require."""
    for name in ("volue_url", "zf_url"):
        assert httpx.put(f"{emulators[name]}/_emulator/answers", json={"minimal": True}).json() == {
            "minimal": True}
    yield emulators
    for name in ("volue_url", "zf_url"):
        httpx.put(f"{emulators[name]}/_emulator/answers", json={"minimal": False})


@pytest.fixture
def settings(database_url: str, minimal: dict[str, Any]) -> Settings:
    return load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=minimal["volue_url"] + API, zf_base_url=minimal["zf_url"] + "/partner",
        secrets_key=Fernet.generate_key().decode(),
    )


async def _simulate(emulators: dict[str, Any], *kinds: str) -> None:
    """Volue's sandbox simulations: one event of each kind (``pricecurve``, ``usereligibility``)."""
    async with httpx.AsyncClient(base_url=emulators["volue_url"]) as client:
        token = (await client.post("/connect/token", data={
            "grant_type": "client_credentials", "client_id": "volue-emulator",
            "client_secret": "volue-emulator-secret"})).json()["access_token"]
        for kind in kinds:
            simulated = await client.post(f"{API}/simulation/events/{kind}", json={},
                                          headers={"Authorization": f"Bearer {token}"})
            assert simulated.status_code == 200, simulated.text


def _answered(emulators: dict[str, Any], route: str) -> dict[int, int]:
    return dict(emulators["volue"].state.emulation.stats.requests[route])


async def test_onboarding_events_poll_and_reconcile_read(live_client: AsyncTestClient,
                                                         minimal: dict[str, Any],
                                                         settings: Settings, database_url: str) -> None:
    """A tree syncs to both providers, the poll stores Volue's events and a reconcile finds no drift."""
    _, site, _ = await _tree(live_client, _customer("m"))
    # Volue answered the creates with the documented bodiless 200.
    assert _answered(minimal, f"POST {API}/users") == {200: 1}
    await _simulate(minimal, "pricecurve", "usereligibility")

    engine = create_engine(database_url)
    try:
        async with build_adapters(settings) as adapters:
            result = await poll_events(sessions=session_factory(engine), settings=settings,
                                       source=adapters.event_source(Provider.VOLUE))
            drift = [await compare(session_factory(engine), adapters, provider)
                     for provider in (Provider.VOLUE, Provider.ZAEHLERFREUNDE)]
    finally:
        await engine.dispose()
    events = (await live_client.get("/v1/events")).json()["items"]
    assert result.stored == len(events) == 2
    assert {e["type"] for e in events} == {"UserEligibilityUpdated", "PriceCurveCreated"}
    assert all(e["source"] == "poll" for e in events)

    assert [(report.checked > 0, report.items) for report in drift] == [(True, [])] * 2
    assert site["id"] in minimal["volue"].state.volue.store.locations


async def test_webhook_register_list_and_logs(settings: Settings, minimal: dict[str, Any],
                                              receiver_url: str) -> None:
    """Registration (bodiless answer), the listing and Volue's delivery logs read from minimal answers."""
    hook = await register_webhook(settings, url=receiver_url)
    assert [(h.webhook_id, ours) for h, ours in await list_webhooks(settings)] == [(hook.webhook_id, True)]
    await _simulate(minimal, "usereligibility")
    hub = minimal["volue"].state.volue.hub
    for _ in range(100):
        if hub.logs:
            break
        await asyncio.sleep(0.05)
    logs = await webhook_logs(settings, hook.webhook_id, 10)
    assert [(log.webhook_id, log.url) for log in logs] == [(hook.webhook_id, receiver_url)]
