"""``GET /v1/customers/{id}/vehicles``: the customer's vehicles, which no site's device list holds."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from gateway.core.clock import utcnow
from gateway.core.settings import Settings
from gateway.http.apikeys import Scope, hash_key, mint_key
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ApiKeyRow
from tests.integration.conftest import TREE

VEHICLE = {"externalRef": "v-2", "name": "Van", "brand": "Volkswagen", "model": "ID. Buzz",
           "year": 2024, "vin": "WVWZZZEBZRP123456"}


async def test_lists_live_vehicles_of_one_customer(client: AsyncTestClient) -> None:
    """Lists the customer's vehicles oldest first with sync status, leaving out deleted ones and others'."""
    customer = (await client.post("/v1/customers", json=TREE)).json()
    other = {"externalRef": "c-2", "name": "Ola", "email": "ola@example.com",
             "vehicles": [{**VEHICLE, "externalRef": "v-other"}]}
    assert (await client.post("/v1/customers", json=other)).status_code == 201
    added = (await client.post(f"/v1/customers/{customer['id']}/vehicles", json=VEHICLE)).json()

    listed = await client.get(f"/v1/customers/{customer['id']}/vehicles")
    assert listed.status_code == 200
    assert [v["externalRef"] for v in listed.json()["items"]] == ["v-1", "v-2"]
    assert all(v["kind"] == "vehicle" and v["siteId"] is None for v in listed.json()["items"])
    assert set(listed.json()["items"][0]["sync"]) == {"volue"}

    assert (await client.delete(f"/v1/devices/{added['id']}")).status_code == 200
    again = (await client.get(f"/v1/customers/{customer['id']}/vehicles")).json()["items"]
    assert [v["externalRef"] for v in again] == ["v-1"]


async def test_unknown_customer_and_missing_scope_are_refused(client: AsyncTestClient,
                                                              settings: Settings) -> None:
    """An unknown customer is 404, and the route needs the customers:read scope."""
    missing = await client.get("/v1/customers/00000000-0000-4000-8000-000000000000/vehicles")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

    key = await _key(settings, Scope.READINGS_WRITE.value)
    refused = await client.get("/v1/customers/00000000-0000-4000-8000-000000000000/vehicles",
                               headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403


async def _key(settings: Settings, scope: str) -> str:
    """Mint an API key holding only ``scope`` straight in the gateway's database."""
    key, prefix = mint_key()
    engine = create_engine(settings.store.database_url)
    try:
        async with session_factory(engine)() as session:
            session.add(ApiKeyRow(id=str(uuid.uuid4()), name="narrow", prefix=prefix, key_hash=hash_key(key),
                                  scopes=[scope], created_at=utcnow()))
            await session.commit()
    finally:
        await engine.dispose()
    return key
