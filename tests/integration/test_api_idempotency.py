"""``Idempotency-Key``: a retried write returns the first answer and changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.http.apikeys import Scope, hash_key, mint_key
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ApiKeyRow, CustomerRow, IdempotencyKeyRow, OutboxTaskRow
from tests import support

PROBLEM = "application/problem+json"


def customer_body(ref: str) -> dict[str, Any]:
    return support.customer_body(ref, support.site_body(f"{ref}-site"))


def idem(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def counts(database_url: str) -> tuple[int, int, int]:
    """Customers, outbox tasks and stored idempotency keys in the database."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            result = []
            for table in (CustomerRow, OutboxTaskRow, IdempotencyKeyRow):
                count = await session.execute(select(func.count()).select_from(table))
                result.append(count.scalar_one())
            return result[0], result[1], result[2]
    finally:
        await engine.dispose()


async def add_write_key(database_url: str) -> str:
    key, prefix = mint_key()
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            session.add(ApiKeyRow(id=str(uuid.uuid4()), name="writer", prefix=prefix,
                                  key_hash=hash_key(key), created_at=datetime.now(UTC),
                                  scopes=[Scope.CUSTOMERS_READ.value, Scope.CUSTOMERS_WRITE.value]))
            await session.commit()
    finally:
        await engine.dispose()
    return key


async def test_same_key_same_body_replays(client: AsyncTestClient, database_url: str) -> None:
    """A repeat with the same key and body returns the first response and creates nothing."""
    body = customer_body("idem-1")
    first = await client.post("/v1/customers", json=body, headers=idem("k-1"))
    assert first.status_code == 201, first.text
    assert first.headers["idempotent-replayed"] == "false"
    before = await counts(database_url)
    for _ in range(3):
        again = await client.post("/v1/customers", json=body, headers=idem("k-1"))
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert await counts(database_url) == before
    assert before[0] == 1


async def test_same_key_other_body_is_422(client: AsyncTestClient, database_url: str) -> None:
    """Reusing a key with a different body (or on another route) is a 422 naming the header."""
    first = await client.post("/v1/customers", json=customer_body("idem-2"), headers=idem("k-2"))
    assert first.status_code == 201
    before = await counts(database_url)
    other = await client.post("/v1/customers", json=customer_body("idem-3"), headers=idem("k-2"))
    assert other.status_code == 422, other.text
    assert other.headers["content-type"].startswith(PROBLEM)
    assert other.json()["field"] == "Idempotency-Key"
    elsewhere = await client.patch(f"/v1/customers/{first.json()['id']}", json={"name": "X"},
                                   headers=idem("k-2"))
    assert elsewhere.status_code == 422
    assert await counts(database_url) == before
    assert (await client.get(f"/v1/customers/{first.json()['id']}")).json()["name"] == "Ada Lovelace"


async def test_different_keys_are_different_requests(client: AsyncTestClient) -> None:
    """Two keys create two customers; the same body under a new key is processed again (409)."""
    a = await client.post("/v1/customers", json=customer_body("idem-a"), headers=idem("k-a"))
    b = await client.post("/v1/customers", json=customer_body("idem-b"), headers=idem("k-b"))
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    repeat = await client.post("/v1/customers", json=customer_body("idem-a"), headers=idem("k-c"))
    assert repeat.status_code == 409
    listed = (await client.get("/v1/customers")).json()["items"]
    assert sorted(c["externalRef"] for c in listed) == ["idem-a", "idem-b"]


async def test_keys_belong_to_one_api_key(client: AsyncTestClient, database_url: str) -> None:
    """The same Idempotency-Key sent by two API keys is two separate requests."""
    other = {"Authorization": f"Bearer {await add_write_key(database_url)}"}
    mine = await client.post("/v1/customers", json=customer_body("idem-mine"), headers=idem("shared"))
    theirs = await client.post("/v1/customers", json=customer_body("idem-theirs"),
                               headers={**idem("shared"), **other})
    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert theirs.headers["idempotent-replayed"] == "false"
    assert mine.json()["id"] != theirs.json()["id"]
    copy = await client.post("/v1/customers", json=customer_body("idem-mine"),
                             headers={**idem("shared"), **other})
    assert copy.status_code == 422
    replay = await client.post("/v1/customers", json=customer_body("idem-theirs"),
                               headers={**idem("shared"), **other})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == theirs.json()["id"]


async def test_failed_request_does_not_burn_the_key(client: AsyncTestClient) -> None:
    """A refused request stores nothing: the key can carry the corrected request."""
    bad = customer_body("idem-fix")
    bad["email"] = "nope"
    assert (await client.post("/v1/customers", json=bad, headers=idem("k-fix"))).status_code == 400
    good = await client.post("/v1/customers", json=customer_body("idem-fix"), headers=idem("k-fix"))
    assert good.status_code == 201
    assert good.headers["idempotent-replayed"] == "false"


async def test_delete_and_patch_replay(client: AsyncTestClient, database_url: str) -> None:
    """A retried DELETE or PATCH replays its first answer instead of 404 or a second change."""
    created = (await client.post("/v1/customers", json=customer_body("idem-del"))).json()
    path = f"/v1/customers/{created['id']}"
    first_patch = await client.patch(path, json={"name": "Ada King"}, headers=idem("p-1"))
    assert first_patch.status_code == 200
    again = await client.patch(path, json={"name": "Ada King"}, headers=idem("p-1"))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["updatedAt"] == first_patch.json()["updatedAt"]
    first = await client.delete(path, headers=idem("d-1"))
    assert first.status_code == 200
    before = await counts(database_url)
    again = await client.delete(path, headers=idem("d-1"))
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await counts(database_url) == before
    assert (await client.delete(path)).status_code == 404


@pytest.mark.parametrize("key", ["", "x" * 201], ids=["empty", "too-long"])
async def test_malformed_key_is_400(client: AsyncTestClient, key: str) -> None:
    """An empty or over-long Idempotency-Key is refused before anything is written."""
    response = await client.post("/v1/customers", json=customer_body("idem-bad"), headers=idem(key))
    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"
    assert (await client.get("/v1/customers")).json()["items"] == []


async def test_concurrent_retries_create_one_customer(client: AsyncTestClient,
                                                      database_url: str) -> None:
    """Racing copies of one request with one key create one customer; the others replay it."""
    body = customer_body("idem-race")
    responses = await asyncio.gather(*(
        client.post("/v1/customers", json=body, headers=idem("race")) for _ in range(4)
    ))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert (await counts(database_url))[0] == 1


@pytest.fixture
async def short_ttl_client(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API with idempotency keys kept for one second."""
    settings = load_settings({}, database_url=database_url, admin_api_key="ttl-admin",
                             idempotency_ttl_s=1)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = "Bearer ttl-admin"
        yield client


async def test_expired_key_is_forgotten(short_ttl_client: AsyncTestClient) -> None:
    """Once older than ``idempotency_ttl_s`` a key no longer replays or refuses another body."""
    client = short_ttl_client
    first = await client.post("/v1/customers", json=customer_body("ttl-1"), headers=idem("ttl"))
    assert first.status_code == 201
    replay = await client.post("/v1/customers", json=customer_body("ttl-1"), headers=idem("ttl"))
    assert replay.headers["idempotent-replayed"] == "true"
    await asyncio.sleep(1.2)
    fresh = await client.post("/v1/customers", json=customer_body("ttl-2"), headers=idem("ttl"))
    assert fresh.status_code == 201, fresh.text
    assert fresh.headers["idempotent-replayed"] == "false"
    assert fresh.json()["id"] != first.json()["id"]
    replay = await client.post("/v1/customers", json=customer_body("ttl-2"), headers=idem("ttl"))
    assert replay.json()["id"] == fresh.json()["id"]
