"""The Python client (clients/python) against a live gateway over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from gateway_client import AsyncGatewayClient, GatewayClient, RateLimited, Validation, models

from tests.client.conftest import LosingProxy, serve_gateway
from tests.conftest import ADMIN_KEY

TREE = {
    "externalRef": "c-1", "name": "Kari Nordmann", "email": "kari@example.com",
    "sites": [{
        "externalRef": "s-1", "name": "Hytta", "kind": "residential",
        "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
        "devices": [
            {"externalRef": "m-1", "kind": "meter", "name": "Meter", "medium": "electricity",
             "isMain": True, "meterPointId": "707057500012345678"},
            {"externalRef": "h-1", "kind": "hot_water_tank", "name": "Tank"},
        ],
    }],
}


def _person(ref: str) -> dict[str, Any]:
    return {"externalRef": ref, "name": f"Person {ref}", "email": f"{ref}@example.com"}


def _wait(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_customer_tree_batch_readings_invite_and_paging(gateway_url: str) -> None:
    """A nested create, a batch of 250, readings, an invite and paging over all of them work end to end."""
    with GatewayClient(gateway_url, ADMIN_KEY) as client:
        created = client.customers.create(models.CustomerCreate.from_dict(TREE))
        assert isinstance(created, models.CustomerCreated) and created.external_ref == "c-1"
        site = created.sites[0]
        meter = next(d for d in site.devices if d.external_ref == "m-1")
        assert client.sites.get(site.id).name == "Hytta"
        assert sorted(d.external_ref for d in client.devices.iter(site.id)) == ["h-1", "m-1"]

        batch = client.customers.batch([
            {"externalRef": f"b-{i:03}", "name": f"Batch {i}", "email": f"b{i}@example.com"}
            for i in range(250)])
        assert batch.created == 250 and batch.failed == 0

        refs = [c.external_ref for c in client.customers.iter(limit=100)]
        assert len(refs) == 251 and len(set(refs)) == 251
        assert [c.id for c in client.customers.iter(external_ref="c-1")] == [created.id]

        ingest = client.readings.send([
            {"deviceId": meter.id, "obisCode": "1-1:1.8.0", "timestamp": 1_700_000_000 + 60 * i,
             "value": 1.5 + i} for i in range(3)])
        assert (ingest.accepted, ingest.rejected) == (3, 0)
        stored = list(client.readings.iter(meter.id, limit=2))
        assert [r.value for r in stored] == [1.5, 2.5, 3.5]

        invite = client.invites.create(site.id)
        assert isinstance(invite, models.InviteRead) and invite.email == "kari@example.com"
        assert [i.id for i in client.invites.iter(site.id)] == [invite.id]


def test_validation_problem_and_replay_with_the_same_key(gateway_url: str) -> None:
    """A bad field raises Validation naming it; a key replays its answer, and refuses another body."""
    with GatewayClient(gateway_url, ADMIN_KEY) as client:
        with pytest.raises(Validation) as refused:
            client.customers.create({"externalRef": "v-1", "name": "V", "email": "not-an-email"})
        assert refused.value.status == 400 and refused.value.field is not None
        assert "email" in refused.value.field

        body = {"externalRef": "r-1", "name": "Replay", "email": "r@example.com"}
        first = client.customers.create(body, idempotency_key="replay-1")
        again = client.customers.create(models.CustomerCreate.from_dict(body), idempotency_key="replay-1")
        assert again.id == first.id
        assert [c.id for c in client.customers.iter(external_ref="r-1")] == [first.id]
        with pytest.raises(Validation) as changed:
            client.customers.create({**body, "name": "Other"}, idempotency_key="replay-1")
        assert changed.value.status == 422


def test_rate_limited_writes_are_retried_to_success(sqlite_url: str, emulators: dict[str, Any]) -> None:
    """Under a lowered write limit the client waits Retry-After and succeeds; with no retries, RateLimited."""
    answers: list[int] = []
    # One write a second: three quick creates cannot all fall in windows of their own.
    with serve_gateway(sqlite_url, emulators, rate_limit_window_s=1.0, rate_limit_customers_write=1) as url:
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                            event_hooks={"response": [lambda r: answers.append(r.status_code)]})
        with GatewayClient(url, ADMIN_KEY, http=http) as client:
            ids = [client.customers.create(_person(f"rl-{i}")).id for i in range(3)]
        assert len(set(ids)) == 3 and 429 in answers and answers.count(201) == 3
        assert set(answers) == {201, 429}
        with GatewayClient(url, ADMIN_KEY, max_retries=0) as client:
            with pytest.raises(RateLimited) as limited:
                for i in range(10):
                    client.customers.create(_person(f"rx-{i}"))
        assert limited.value.status == 429 and limited.value.retry_after is not None


def test_lost_answer_is_retried_with_the_same_key_and_runs_once_upstream(
        gateway_url: str, emulators: dict[str, Any]) -> None:
    """The answer to an accepted create is lost: the retry replays it, and one customer exists upstream."""
    proxy = LosingProxy(gateway_url)
    try:
        with GatewayClient(proxy.url, ADMIN_KEY) as client:
            proxy.lose_next = True
            created = client.customers.create(_person("lost-1"))
            posts = [r for r in proxy.requests if r.startswith(b"POST ")]
            assert len(posts) == 2 and posts[0] == posts[1]
            assert [c.id for c in client.customers.iter(external_ref="lost-1")] == [created.id]
    finally:
        proxy.close()
    volue = emulators["volue"].state.volue.store
    _wait(lambda: len(volue.users) >= 1)
    time.sleep(0.5)
    assert len(volue.users) == 1


async def test_async_client_pages_and_raises_not_found(gateway_url: str) -> None:
    """The async client creates, pages with an async iterator and raises NotFound for an unknown id."""
    from gateway_client import NotFound

    async with AsyncGatewayClient(gateway_url, ADMIN_KEY) as client:
        created = await client.customers.create({"externalRef": "a-1", "name": "A", "email": "a@example.com"})
        listed = [c.id async for c in client.customers.iter(external_ref="a-1")]
        assert listed == [created.id]
        with pytest.raises(NotFound) as missing:
            await client.customers.get("no-such-customer")
        assert missing.value.status == 404 and json.dumps(missing.value.body)
