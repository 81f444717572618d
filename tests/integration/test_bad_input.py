"""Bad input never reaches the database as a crash: NUL bytes in ids and filters, invalid UTF-8,
deep nesting and numbers outside a column's range are each a 400 problem naming what is wrong,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.http.deps import MAX_NESTING
from tests.integration.conftest import TREE

NUL_PATHS = [
    ("/v1/customers?externalRef=%00", "externalRef"),
    ("/v1/customers/%00", "customer_id"),
    ("/v1/customers/%00/sites", "customer_id"),
    ("/v1/customers/%00/sync-history", "customer_id"),
    ("/v1/sites/%00", "site_id"),
    ("/v1/sites/%00/devices", "site_id"),
    ("/v1/devices/%00", "device_id"),
    ("/v1/devices/%00/readings", "device_id"),
    ("/v1/events/%00", "event_id"),
    ("/v1/events?customerId=%00", "customerId"),
    ("/v1/sync/tasks?entityId=%00", "entityId"),
    ("/v1/invites/%00", "invite_id"),
    ("/v1/reports/%00", "report_id"),
    ("/v1/webhook-subscriptions/%00", "subscription_id"),
    ("/v1/customers?x%00y=1", "xy"),
]


def _problem(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("path", "field"), NUL_PATHS)
async def test_a_nul_byte_in_an_id_or_filter_is_a_400_naming_the_parameter(
    client: AsyncTestClient, path: str, field: str
) -> None:
    """%00 in a path or query parameter is refused before any query runs, naming the parameter."""
    problem = _problem(await client.get(path))
    assert problem["field"] == field and "NUL" in problem["detail"]


async def test_a_nul_byte_in_a_readings_cursor_is_a_400(client: AsyncTestClient) -> None:
    """A cursor carrying %00 is refused as a parameter, not decoded."""
    problem = _problem(await client.get("/v1/devices/d-1/readings?cursor=%00"))
    assert problem["field"] == "cursor"


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/customers", b'{"externalRef":"c-\xff","name":"x","email":"a@example.com"}'),
    ("/v1/readings", b'{"readings":[{"deviceId":"\xff","obisCode":"1.8.0","timestamp":1,"value":1}]}'),
    ("/v1/webhook-subscriptions", b'{"url":"http://127.0.0.1:9/\xff","eventTypes":["UserEligibility"]}'),
])
async def test_invalid_utf8_inside_a_json_string_is_a_400(client: AsyncTestClient, path: str,
                                                           body: bytes) -> None:
    """Bytes that are not UTF-8 inside a string are refused as such on every write route."""
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert "UTF-8" in _problem(response)["detail"]


async def test_invalid_utf8_in_a_batch_item_fails_only_that_item(client: AsyncTestClient) -> None:
    """In a batch, the item with bytes that are not UTF-8 fails alone, its field named."""
    body = b'{"customers":[{"externalRef":"c-\xff","name":"x","email":"a@example.com"}]}'
    response = await client.post("/v1/customers/batch", content=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["error"]["field"] == "externalRef" and "UTF-8" in result["error"]["detail"]


async def test_invalid_utf8_names_the_field_where_it_can(client: AsyncTestClient) -> None:
    """When the rest of the body is valid JSON, the problem names the field holding the bad bytes."""
    body = b'{"externalRef":"c-\xff","name":"x","email":"a@example.com"}'
    response = await client.post("/v1/customers", content=body, headers={"Content-Type": "application/json"})
    assert _problem(response)["field"] == "externalRef"


async def test_invalid_utf8_in_a_signed_webhook_is_not_a_500(client: AsyncTestClient) -> None:
    """The Volue receiver answers a body with bad bytes with a 4xx (its signature fails first), never 500."""
    response = await client.post("/v1/providers/volue/webhook", content=b'{"notificationId":"\xff"}',
                                 headers={"Content-Type": "application/json", "x-payload-signature": "x"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/webhook-subscriptions", "/v1/readings"])
async def test_nesting_beyond_the_documented_depth_is_a_400(client: AsyncTestClient, path: str) -> None:
    """A small body nested a thousand deep is refused with the documented limit, not a RecursionError."""
    deep = b"[" * 1000 + b"]" * 1000
    body = b'{"readings":[{"deviceId":"d","obisCode":"1.8.0","timestamp":1,"value":' + deep + b"}]}"
    if path != "/v1/readings":
        body = b'{"externalRef":"c-1","name":"x","email":"a@example.com","url":"x","extra":' + deep + b"}"
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert f"deeper than {MAX_NESTING} levels" in _problem(response)["detail"]


async def test_nesting_within_the_limit_is_decoded_as_usual(client: AsyncTestClient) -> None:
    """Brackets inside strings do not count, and an ordinary nested tree is accepted."""
    body = dict(TREE, name="Kari " + "[" * (MAX_NESTING + 10))
    assert (await client.post("/v1/customers", json=body)).status_code == 201


@pytest.mark.parametrize("query", [
    "from=99999999999999999999999", "to=99999999999999999999999", "from=-99999999999999999999",
    "from=253402300800", "to=9999-12-31T23:59:59-14:00",
])
async def test_readings_bounds_outside_the_column_range_are_a_400(client: AsyncTestClient,
                                                                  query: str) -> None:
    """Huge or negative epoch bounds in the readings listing name the parameter instead of overflowing."""
    created = (await client.post("/v1/customers", json=TREE)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    device = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"][0]
    problem = _problem(await client.get(f"/v1/devices/{device['id']}/readings?{query}"))
    assert problem["field"] == query.split("=")[0]


async def test_a_forged_cursor_with_a_huge_timestamp_is_a_400(client: AsyncTestClient) -> None:
    """A cursor whose timestamp no reading can have is refused as not handed out by the API."""
    import base64

    created = (await client.post("/v1/customers", json=TREE)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    device = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"][0]
    cursor = base64.urlsafe_b64encode(b"99999999999999999999999:1-1:1.8.0").decode().rstrip("=")
    problem = _problem(await client.get(f"/v1/devices/{device['id']}/readings?cursor={cursor}"))
    assert problem["field"] == "cursor"
