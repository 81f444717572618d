"""Fixtures for end-to-end sync tests: both emulators over real HTTP and a gateway using them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from providers.zaehlerfreunde.emulator.app import create_app as zf_app
from tests.conftest import ADMIN_KEY
from tests.support import eventually

TREE = {
    "externalRef": "c-1",
    "name": "Kari Nordmann",
    "email": "kari@example.com",
    "sites": [{
        "externalRef": "s-1",
        "name": "Hytta",
        "kind": "residential",
        "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
        "coordinates": {"latitude": 78.22, "longitude": 15.63},
        "devices": [
            {"externalRef": "m-1", "kind": "meter", "name": "Meter", "medium": "electricity",
             "isMain": True, "meterPointId": "707057500012345678"},
            {"externalRef": "h-1", "kind": "hot_water_tank", "name": "Tank"},
        ],
    }],
    "vehicles": [{"externalRef": "v-1", "name": "Car", "brand": "Polestar", "model": "2",
                  "year": 2023, "vin": "YSMED1234PE123456"}],
}


@pytest.fixture
def emulators() -> Iterator[dict[str, Any]]:
    volue, zf = volue_app(), zf_app()
    with serve_in_thread(volue) as volue_url, serve_in_thread(zf) as zf_url:
        yield {"volue": volue, "zf": zf, "volue_url": volue_url, "zf_url": zf_url}


@pytest.fixture
async def live_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=2.0, sync_max_attempts=20,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def wait_synced(client: AsyncTestClient, paths: list[str], timeout: float = 20.0,
                      status: str = "synced") -> list[dict[str, Any]]:
    """Poll until every entity at ``paths`` has ``status`` at every provider."""
    if not paths:
        return []
    bodies: list[dict[str, Any]] = []

    async def check() -> list[dict[str, Any]] | None:
        nonlocal bodies
        bodies = [(await client.get(p)).json() for p in paths]
        done = all(b["sync"] and all(v["status"] == status for v in b["sync"].values()) for b in bodies)
        return bodies if done else None

    try:
        return await eventually(check, what=f"{status} at every provider", timeout=timeout)
    except AssertionError:
        raise AssertionError(f"not {status} in time: {bodies}") from None


