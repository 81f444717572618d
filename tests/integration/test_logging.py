"""Logs: JSON lines with request id, task id, provider and customer id bound; never a secret or token."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.observability.logging import configure_logging
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced

WRONG_SECRET = "not-the-volue-secret-8c1f"
CONFIGURED_SECRETS = ("volue-emulator-secret", "zf-emulator-secret", ADMIN_KEY)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log line of the test, as the gateway writes them in production (JSON), at DEBUG.

    Requested after the apps are built: a Litestar app (the emulators') sets up logging of its own.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """The captured lines, each parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def issued_tokens(emulators: dict[str, Any]) -> list[str]:
    return [token for name in ("volue", "zf")
            for token in emulators[name].state.emulation.tokens._expiry]


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret leaked into the logs: {secret[:4]}…"
    assert not re.search(r"(?i)bearer\s+(?!\[redacted\])\S", text)


async def _tree_paths(client: AsyncTestClient, customer: dict[str, Any]) -> list[str]:
    sites = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"]
    paths = [f"/v1/customers/{customer['id']}"] + [f"/v1/sites/{s['id']}" for s in sites]
    for site in sites:
        devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
        paths += [f"/v1/devices/{d['id']}" for d in devices]
    return paths


async def test_full_sync_logs_no_secret_and_request_id_round_trips(
    live_client: AsyncTestClient, emulators: dict[str, Any], captured: io.StringIO
) -> None:
    """A full sync logs JSON lines bound to the request id it echoes, with no secret or token in them."""
    created = await live_client.post("/v1/customers", json=TREE, headers={"X-Request-ID": "onboard-42.a"})
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == "onboard-42.a"
    await wait_synced(live_client, await _tree_paths(live_client, created.json()))

    generated = await live_client.get("/health/live")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    refused = await live_client.get("/health/live", headers={"X-Request-ID": "no spaces <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])
    unauthorised = await live_client.get("/v1/customers", headers={"Authorization": "Bearer wrong-key-1234",
                                                                   "X-Request-ID": "bad-key-1"})
    assert unauthorised.status_code == 401
    assert unauthorised.headers["x-request-id"] == "bad-key-1"

    logged = lines(captured)
    request = [e for e in logged if e.get("request_id") == "onboard-42.a" and e["event"] == "request"]
    assert request and request[0]["route"] == "/v1/customers" and request[0]["status"] == 201
    assert any(e.get("request_id") == "bad-key-1" and e.get("status") == 401 for e in logged)
    assert_no_secret(captured.getvalue(), [*CONFIGURED_SECRETS, "wrong-key-1234", *issued_tokens(emulators)])
    assert emulators["volue"].state.emulation.stats.token_fetches == 1


@pytest.fixture
async def wrong_secret_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    """The gateway with a Volue client secret the Volue emulator refuses."""
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        volue_client_secret=WRONG_SECRET,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def test_auth_failure_dead_letters_without_logging_the_secret(
    wrong_secret_client: AsyncTestClient, emulators: dict[str, Any], captured: io.StringIO
) -> None:
    """Refused client credentials dead-letter the task; its log line names task, provider and
    customer, and no secret or token appears anywhere in the logs."""
    body = {**TREE, "externalRef": "c-auth", "sites": [], "vehicles": []}
    customer = (await wrong_secret_client.post("/v1/customers", json=body)).json()
    for _ in range(200):
        dead = (await wrong_secret_client.get("/v1/sync/tasks", params={
            "status": "dead", "entityId": customer["id"]})).json()["items"]
        if dead:
            break
        await asyncio.sleep(0.05)
    assert len(dead) == 1 and dead[0]["provider"] == "volue", dead
    assert "AuthError" in dead[0]["lastError"]

    logged = lines(captured)
    dead_lines = [e for e in logged if e["event"] == "task dead-lettered"]
    assert len(dead_lines) == 1, dead_lines
    line = dead_lines[0]
    assert line["task_id"] == dead[0]["id"]
    assert line["customer_id"] == customer["id"]
    assert line["provider"] == "volue" and line["level"] == "warning"
    assert "AuthError" in line["reason"]
    assert_no_secret(captured.getvalue(), [WRONG_SECRET, *CONFIGURED_SECRETS, *issued_tokens(emulators)])
