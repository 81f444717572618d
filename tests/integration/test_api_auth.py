"""API keys and scopes: who may call which route."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient

from gateway.http.apikeys import Scope, hash_key, mint_key
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ApiKeyRow
from tests.support import customer_body

PROBLEM = "application/problem+json"


async def add_key(database_url: str, *scopes: str, revoked: bool = False) -> str:
    """Store a new key with ``scopes`` the way the CLI does and return the key itself."""
    key, prefix = mint_key()
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            now = datetime.now(UTC)
            session.add(ApiKeyRow(id=str(uuid.uuid4()), name="test", prefix=prefix,
                                  key_hash=hash_key(key), scopes=sorted(scopes), created_at=now,
                                  revoked_at=now if revoked else None))
            await session.commit()
    finally:
        await engine.dispose()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key-we-issued"},
    ],
    ids=["none", "empty", "bearer-without-key", "basic", "unknown"],
)
async def test_missing_or_unknown_key_is_401(client: AsyncTestClient, headers: dict[str, str]) -> None:
    """Without a valid bearer key every API route answers 401 as a problem document."""
    client.headers.pop("Authorization")
    for method, path in (("GET", "/v1/customers"), ("POST", "/v1/customers"),
                         ("GET", "/v1/sync/tasks")):
        response = await client.request(method, path, headers=headers, json=customer_body("c-401"))
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["type"].endswith("/unauthorized")
        assert response.headers["www-authenticate"].lower().startswith("bearer")


async def test_revoked_key_is_401(client: AsyncTestClient, database_url: str) -> None:
    """A key whose row carries ``revoked_at`` is refused like an unknown one."""
    key = await add_key(database_url, Scope.OPS.value, revoked=True)
    response = await client.get("/v1/customers", headers=bearer(key))
    assert response.status_code == 401


async def test_health_needs_no_key(client: AsyncTestClient) -> None:
    """The liveness probe answers without any API key."""
    client.headers.pop("Authorization")
    assert (await client.get("/health/live")).status_code == 200


async def test_customers_read_can_get_but_not_post(client: AsyncTestClient, database_url: str) -> None:
    """customers:read lists and reads customers and is refused (403) on writes and ops routes."""
    created = await client.post("/v1/customers", json=customer_body("c-read"))
    assert created.status_code == 201
    customer_id = created.json()["id"]
    key = bearer(await add_key(database_url, Scope.CUSTOMERS_READ.value))
    assert (await client.get("/v1/customers", headers=key)).status_code == 200
    assert (await client.get(f"/v1/customers/{customer_id}", headers=key)).status_code == 200
    assert (await client.get(f"/v1/customers/{customer_id}/sites", headers=key)).status_code == 200
    refused = [
        await client.post("/v1/customers", json=customer_body("c-read-2"), headers=key),
        await client.patch(f"/v1/customers/{customer_id}", json={"name": "X"}, headers=key),
        await client.delete(f"/v1/customers/{customer_id}", headers=key),
        await client.get("/v1/sync/tasks", headers=key),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["type"].endswith("/forbidden")
    still = await client.get(f"/v1/customers/{customer_id}")
    assert still.json()["name"] == "Ada Lovelace"


async def test_customers_write_can_post(client: AsyncTestClient, database_url: str) -> None:
    """customers:write creates, updates and deletes customers but cannot reach ops routes."""
    key = bearer(await add_key(database_url, Scope.CUSTOMERS_WRITE.value))
    created = await client.post("/v1/customers", json=customer_body("c-write"), headers=key)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    patched = await client.patch(f"/v1/customers/{customer_id}", json={"name": "G. H."}, headers=key)
    assert patched.status_code == 200
    assert (await client.get("/v1/sync/tasks", headers=key)).status_code == 403
    assert (await client.delete(f"/v1/customers/{customer_id}", headers=key)).status_code == 200


@pytest.mark.parametrize("scope", [Scope.READINGS_WRITE.value, Scope.INVITES_WRITE.value])
async def test_reading_and_invite_keys_cannot_touch_customers(
    client: AsyncTestClient, database_url: str, scope: str
) -> None:
    """Keys for readings or invites get 403 on customer reads, customer writes and ops."""
    key = bearer(await add_key(database_url, scope))
    assert (await client.get("/v1/customers", headers=key)).status_code == 403
    assert (await client.post("/v1/customers", json=customer_body("c-x"), headers=key)).status_code == 403
    assert (await client.get("/v1/sync/tasks", headers=key)).status_code == 403


async def test_scopes_add_up(client: AsyncTestClient, database_url: str) -> None:
    """A key holding customers:read and customers:write may do both."""
    key = bearer(await add_key(database_url, Scope.CUSTOMERS_READ.value, Scope.CUSTOMERS_WRITE.value))
    created = await client.post("/v1/customers", json=customer_body("c-both"), headers=key)
    assert created.status_code == 201
    assert (await client.get(f"/v1/customers/{created.json()['id']}", headers=key)).status_code == 200


async def test_ops_key_can_do_everything(client: AsyncTestClient, database_url: str) -> None:
    """An ops key reads, writes and uses the sync routes."""
    key = bearer(await add_key(database_url, Scope.OPS.value))
    created = await client.post("/v1/customers", json=customer_body("c-ops"), headers=key)
    assert created.status_code == 201
    customer_id = created.json()["id"]
    assert (await client.get(f"/v1/customers/{customer_id}", headers=key)).status_code == 200
    tasks = await client.get("/v1/sync/tasks", params={"entityId": customer_id}, headers=key)
    assert tasks.status_code == 200
    assert [task["entityId"] for task in tasks.json()["items"]] == [customer_id]
    history = await client.get(f"/v1/customers/{customer_id}/sync-history", headers=key)
    assert history.status_code == 200
    resync = await client.post("/v1/sync/resync", headers=key,
                               json={"entityType": "customer", "entityId": customer_id})
    assert resync.status_code == 202


async def test_admin_key_from_settings_acts_as_ops(client: AsyncTestClient) -> None:
    """The GATEWAY_ADMIN_API_KEY key (the fixture's default header) reaches ops routes."""
    assert (await client.get("/v1/sync/tasks")).status_code == 200
    created = await client.post("/v1/customers", json=customer_body("c-admin"))
    assert created.status_code == 201
    assert (await client.get("/v1/customers")).status_code == 200


async def test_problem_never_echoes_the_key(client: AsyncTestClient) -> None:
    """The 401 problem document does not repeat the presented key."""
    secret = "gw_deadbeef_" + "s" * 40
    response = await client.get("/v1/customers", headers=bearer(secret))
    assert response.status_code == 401
    assert secret not in response.text
