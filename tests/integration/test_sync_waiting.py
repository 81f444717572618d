"""A record's sync while its provider fails: ``retrying`` with the next try and the circuit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.testing import AsyncTestClient

from providers.emulation import FaultPlan
from tests.integration.conftest import TREE, wait_synced
from tests.support import eventually

DOWN = FaultPlan(error_rate=1.0, error_statuses=[503], seed=3)


async def _site_path(client: AsyncTestClient) -> str:
    created = (await client.post("/v1/customers", json=TREE)).json()
    sites = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"]
    return f"/v1/sites/{sites[0]['id']}"


def _zf(body: dict[str, Any]) -> dict[str, Any]:
    sync: dict[str, Any] = body["sync"]["zaehlerfreunde"]
    return sync


async def test_a_site_whose_provider_is_down_shows_retrying_the_next_try_and_the_open_circuit(
    live_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """Zählerfreunde answering 503: the site reads ``retrying`` with ``nextAttemptAt``, then the
    open circuit once enough answers failed; healed, it reads ``synced`` with neither."""
    emulators["zf"].state.emulation.set_faults(DOWN)
    path = await _site_path(live_client)

    async def circuit_open() -> dict[str, Any] | None:
        body = (await live_client.get(path)).json()
        sync = _zf(body)
        return body if sync["status"] == "retrying" and sync.get("circuit") == "open" else None

    body = await eventually(circuit_open, what="retrying with the circuit open", timeout=30)
    sync = _zf(body)
    assert isinstance(datetime.fromisoformat(sync["nextAttemptAt"]), datetime), sync
    assert sync["lastError"] and sync["attempts"] >= 1, sync
    listed = (await live_client.get(f"/v1/customers/{body['customerId']}/sites")).json()["items"]
    assert _zf(listed[0])["status"] == "retrying" and _zf(listed[0])["circuit"] in ("open", "half-open")

    emulators["zf"].state.emulation.set_faults(FaultPlan())
    [healed] = await wait_synced(live_client, [path], timeout=60)
    assert _zf(healed).get("nextAttemptAt") is None and _zf(healed).get("circuit") is None


async def test_a_record_at_rest_shows_neither_next_try_nor_circuit(
    live_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """A synced record's sync names no next try and no circuit, in a list as in a read."""
    path = await _site_path(live_client)
    [body] = await wait_synced(live_client, [path])
    listed = (await live_client.get(f"/v1/customers/{body['customerId']}/sites")).json()["items"]
    customer = (await live_client.get(f"/v1/customers/{body['customerId']}")).json()
    customers = (await live_client.get("/v1/customers")).json()["items"]
    for sync in (_zf(body), _zf(listed[0]), customer["sync"]["volue"], customers[0]["sync"]["volue"]):
        assert sync["status"] == "synced"
        assert sync.get("nextAttemptAt") is None and sync.get("circuit") is None
