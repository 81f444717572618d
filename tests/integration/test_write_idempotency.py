"""``Idempotency-Key`` on the writes that used to ignore it (a site's energy-usage enrollment, a
subscription's delete), and what a replay may show once its subscription is deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API without a worker, able to keep subscription secrets; loopback subscribers allowed."""
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             secrets_key=Fernet.generate_key().decode(), events_poll_interval_s=0,
                             forward_allowed_targets="127.0.0.0/8")
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_enrollment_put_replays_its_first_answer(api: AsyncTestClient) -> None:
    """The same key and body replay the first answer (even after the flag changed since); the same
    key with another body is refused with 422 naming the header."""
    customer = (await api.post("/v1/customers", json=TREE)).json()
    path = f"/v1/sites/{customer['sites'][0]['id']}/energy-usage/enrollment"
    first = await api.put(path, json={"enabled": True}, headers=_key("enroll-1"))
    assert first.status_code == 200, first.text
    assert first.headers["Idempotent-Replayed"] == "false"
    assert first.json()["enabled"] is True
    off = await api.put(path, json={"enabled": False})
    assert off.json()["enabled"] is False
    again = await api.put(path, json={"enabled": True}, headers=_key("enroll-1"))
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()
    other = await api.put(path, json={"enabled": False}, headers=_key("enroll-1"))
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"


async def test_enrollment_of_a_deleted_site_is_404(api: AsyncTestClient) -> None:
    """A site deleted before its enrollment is written answers 404 naming the site."""
    customer = (await api.post("/v1/customers", json=TREE)).json()
    site_id = customer["sites"][0]["id"]
    assert (await api.delete(f"/v1/sites/{site_id}")).status_code == 200
    answer = await api.put(f"/v1/sites/{site_id}/energy-usage/enrollment", json={"enabled": True},
                           headers=_key("enroll-gone"))
    assert answer.status_code == 404
    assert site_id in answer.json()["detail"]


async def _subscribe(api: AsyncTestClient, key: str) -> Any:
    return await api.post("/v1/webhook-subscriptions", json={"url": "http://127.0.0.1:9/in"},
                          headers=_key(key))


async def test_subscription_delete_replays_its_204(api: AsyncTestClient) -> None:
    """A repeated delete with its key answers the first 204 again; without a key it is 404."""
    created = (await _subscribe(api, "sub-1")).json()
    path = f"/v1/webhook-subscriptions/{created['id']}"
    first = await api.delete(path, headers=_key("unsub-1"))
    assert (first.status_code, first.headers["Idempotent-Replayed"], first.content) == (204, "false", b"")
    again = await api.delete(path, headers=_key("unsub-1"))
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.content) == (204, "true", b"")
    assert (await api.delete(path)).status_code == 404


async def test_replayed_create_of_a_deleted_subscription_shows_no_secret(api: AsyncTestClient) -> None:
    """While the subscription lives a replay shows its secret again; once it is deleted the replay
    answers 404 naming Idempotency-Key, without the secret."""
    first = await _subscribe(api, "sub-2")
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    live = await _subscribe(api, "sub-2")
    assert (live.status_code, live.headers["Idempotent-Replayed"]) == (201, "true")
    assert live.json()["secret"] == secret
    assert (await api.delete(f"/v1/webhook-subscriptions/{first.json()['id']}")).status_code == 204
    replay = await _subscribe(api, "sub-2")
    assert replay.status_code == 404
    assert replay.json()["field"] == "Idempotency-Key"
    assert secret not in replay.text and "whsec_" not in replay.text


async def test_deliveries_of_a_deleted_subscription_are_404(api: AsyncTestClient) -> None:
    """The delivery log answers 200 while the subscription lives and 404 once it is deleted."""
    created = (await _subscribe(api, "sub-3")).json()
    path = f"/v1/webhook-subscriptions/{created['id']}"
    assert (await api.get(f"{path}/deliveries")).status_code == 200
    assert (await api.delete(path)).status_code == 204
    gone = await api.get(f"{path}/deliveries")
    assert gone.status_code == 404
    assert created["id"] in gone.json()["detail"]
