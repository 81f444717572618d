"""``gateway status``: each provider's circuit, the reasons of blocked tasks and records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow
from providers.emulation import FaultPlan
from tests.conftest import ADMIN_KEY
from tests.integration import test_onboard_cli
from tests.integration.test_onboard_cli import Run

serve_gateway = test_onboard_cli.serve_gateway
run = test_onboard_cli.run

REASON = "waits on task t-1 (upsert of customer c-1 at volue), which is dead: user refused"


def _set(database_url: str, table: Any, where: Any, **values: Any) -> None:
    async def go() -> None:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                await session.execute(update(table).where(where).values(**values))
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(go())


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not in time"
        time.sleep(0.1)


def test_status_shows_circuits_dead_and_blocked_tasks_with_their_reasons(
        serve_gateway: Callable[..., str], run: Run, database_url: str) -> None:
    """Without --customer: both circuits closed, the dead task with its error and the blocked one
    with the reason it waits; with --customer: a blocked record shows that reason too."""
    url = serve_gateway()
    connect = ("--url", url, "--api-key", ADMIN_KEY)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        body = {"externalRef": "st-1", "name": "Kari", "email": "kari@example.com", "providers": ["volue"],
                "sites": [{"externalRef": "st-1-s", "name": "Hytta", "kind": "residential",
                           "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen",
                                       "country": "NO"},
                           "coordinates": {"latitude": 78.22, "longitude": 15.63}}]}
        customer = api.post("/v1/customers", json=body).json()
        site = api.get(f"/v1/customers/{customer['id']}/sites").json()["items"][0]
        _wait(lambda: all(t["status"] == "done" for t in api.get("/v1/sync/tasks").json()["items"]),
              "the customer synced")
        tasks = {t["entityId"]: t["id"] for t in api.get("/v1/sync/tasks").json()["items"]}
    _set(database_url, OutboxTaskRow, col(OutboxTaskRow.id) == tasks[customer["id"]], status="dead",
         last_error="user refused")
    _set(database_url, OutboxTaskRow, col(OutboxTaskRow.id) == tasks[site["id"]], status="blocked",
         blocked_by=tasks[customer["id"]], last_error=REASON)
    _set(database_url, ProviderLinkRow, col(ProviderLinkRow.entity_id) == site["id"], status="blocked",
         blocked_by=tasks[customer["id"]], blocked_reason=REASON)

    code, out, err = run("status", *connect)
    assert code == 0, out + err
    assert "provider circuits" in out and out.count("closed") == 2 and "this process" in out
    assert "dead tasks" in out and tasks[customer["id"]] in out and "user refused" in out
    assert "blocked tasks" in out and tasks[site["id"]] in out and REASON in out
    code, out, err = run("status", "--customer", "st-1", *connect)
    assert code == 0, out + err
    assert f"volue: blocked ({REASON})" in out and "provider circuits" in out


def test_status_shows_an_open_circuit_with_why_and_the_next_probe(
        serve_gateway: Callable[..., str], run: Run, emulators: dict[str, Any]) -> None:
    """With Volue answering 503 to everything, the circuit the worker opened is shown open, with
    the failure that opened it."""
    url = serve_gateway()
    emulators["volue"].state.emulation.set_faults(FaultPlan(error_rate=1.0, error_statuses=[503]))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        for i in range(6):
            api.post("/v1/customers", json={"externalRef": f"st-o-{i}", "name": "N", "email": "n@example.com",
                                            "providers": ["volue"]})
        _wait(lambda: any(c["state"] == "open"
                          for c in api.get("/v1/sync/circuits").json()["circuits"].values()),
              "the circuit open")
    code, out, err = run("status", "--url", url, "--api-key", ADMIN_KEY)
    assert code == 0, out + err
    volue = next(line for line in out.splitlines() if line.strip("│ ").startswith("volue"))
    assert "open" in volue and "503" in volue
