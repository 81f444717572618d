"""``POST /v1/readings`` and ``GET /v1/devices/{id}/readings`` against the API (no worker)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from litestar.testing import AsyncTestClient
from sqlmodel import select

from gateway.core.settings import Settings
from gateway.outbox.engine import RoundResult
from gateway.readings.batches import READINGS_QUEUE
from gateway.readings.delivery import ReadingsDelivery
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow
from providers.base import TransientError
from tests.integration.conftest import TREE

T0 = 1_700_000_000


async def _customer(client: AsyncTestClient, *, providers: list[str] | None = None,
                    ref: str = "c-1") -> dict[str, Any]:
    body = json.loads(json.dumps(TREE))
    body["externalRef"] = ref
    for n, site in enumerate(body["sites"]):
        site["externalRef"] = f"{ref}-s-{n}"
        for device in site["devices"]:
            device["externalRef"] = f"{ref}-{device['externalRef']}"
        site["devices"].append({"externalRef": f"{ref}-g-1", "kind": "meter", "name": "Gas",
                                "medium": "gas"})
    for vehicle in body["vehicles"]:
        vehicle["externalRef"] = f"{ref}-{vehicle['externalRef']}"
    if providers is not None:
        body["providers"] = providers
    response = await client.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    customer = response.json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = {d["externalRef"].split("-", 2)[-1]: d
               for d in (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]}
    return {"customer": customer, "site": site, "meter": devices["m-1"], "tank": devices["h-1"],
            "gas": devices["g-1"]}


def _item(device_id: str, ts: Any, value: Any = 1.5, code: str = "1-1:1.8.0") -> dict[str, Any]:
    return {"deviceId": device_id, "obisCode": code, "timestamp": ts, "value": value}


async def _tasks(client: AsyncTestClient) -> list[dict[str, Any]]:
    listed = (await client.get("/v1/sync/tasks", params={"limit": 1000})).json()["items"]
    return [t for t in listed if t["provider"] == READINGS_QUEUE]


async def test_good_items_are_accepted_and_each_rule_rejects_only_its_item(client: AsyncTestClient) -> None:
    """Every rejection rule refuses its own item with index and field, the good items are stored."""
    tree = await _customer(client)
    meter, tank, gas = tree["meter"]["id"], tree["tank"]["id"], tree["gas"]["id"]
    future = int(time.time()) + 3600
    items = [
        _item(meter, T0),                                   # 0 good
        _item(meter, T0 + 1, value=123456.789),             # 1 infinite value (1e999 below)
        _item(meter, T0 + 2, value="NaN"),                  # 2 not a number
        _item("no-such-device", T0 + 3),                    # 3 unknown device
        _item(tank, T0 + 4),                                # 4 not a meter
        _item(meter, T0 + 5, code="7-1:3.1.0"),             # 5 gas code on an electricity meter
        _item(meter, future),                               # 6 too far in the future
        _item(gas, T0 + 6, code="7-1:3.1.0"),               # 7 good (gas)
        _item(meter, T0 + 7, code="1.8"),                   # 8 malformed OBIS code
        {"obisCode": "1.8.0", "timestamp": T0 + 8, "value": 1.0},  # 9 no device
        _item(meter, "2023-11-14T22:13:20"),                # 10 ISO without offset
        {**_item(meter, T0 + 9), "extra": 1},               # 11 unknown field
        {"deviceExternalRef": "c-1-m-1", "obisCode": "1.8.0", "timestamp": T0 + 10, "value": 2},  # 12 good
    ]
    raw = json.dumps({"readings": items}).replace("123456.789", "1e999").encode()
    response = await client.post("/v1/readings", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 0, 10)
    fields = {e["index"]: e["field"] for e in body["errors"]}
    assert fields == {1: "value", 2: "value", 3: "deviceId", 4: "deviceId", 5: "obisCode",
                      6: "timestamp", 8: "obisCode", 9: "deviceId", 10: "timestamp", 11: "extra"}
    assert "in the future" in next(e["detail"] for e in body["errors"] if e["index"] == 6)


async def test_nan_tokens_are_rejected_per_item(client: AsyncTestClient) -> None:
    """A bare NaN/Infinity token (as Python's json writes it) rejects only its item."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    body = json.dumps({"readings": [_item(meter, T0, float("nan")), _item(meter, T0 + 1, float("inf")),
                                    _item(meter, T0 + 2)]})
    response = await client.post("/v1/readings", content=body.encode(),
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["accepted"] == 1 and [e["index"] for e in result["errors"]] == [0, 1]


async def test_duplicates_within_and_across_requests_are_stored_once(
        client: AsyncTestClient, database_url: str) -> None:
    """The same (device, OBIS code, second) is stored once, short and full OBIS forms included."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    first = await client.post("/v1/readings", json={"readings": [
        _item(meter, T0), _item(meter, T0, code="1.8.0"), _item(meter, T0 + 60)]})
    assert first.json()["accepted"] == 2 and first.json()["duplicates"] == 1
    again = await client.post("/v1/readings", json={"readings": [
        _item(meter, T0 * 1000, value=9.0), _item(meter, T0 + 120)]})
    assert again.json()["accepted"] == 1 and again.json()["duplicates"] == 1
    stored = (await client.get(f"/v1/devices/{meter}/readings")).json()["items"]
    assert [(r["obisCode"], r["value"]) for r in stored] == [("1-1:1.8.0", 1.5)] * 3
    # PostgreSQL tops up the open batch of the first request; SQLite opens one per request.
    assert len(await _tasks(client)) == (1 if database_url.startswith("postgresql") else 2)


async def test_a_meter_named_by_id_and_by_external_ref_is_one_series(client: AsyncTestClient) -> None:
    """Readings naming one meter by id and by externalRef in a request are deduplicated together,
    and each stored reading keeps its value and the time the request was received."""
    tree = await _customer(client)
    meter = tree["meter"]
    before = datetime.now(UTC).replace(microsecond=0)
    response = await client.post("/v1/readings", json={"readings": [
        _item(meter["id"], T0, value=2.25),
        {"deviceExternalRef": meter["externalRef"], "obisCode": "1.8.0", "timestamp": T0, "value": 7.0},
        {"deviceExternalRef": meter["externalRef"], "obisCode": "1.8.0", "timestamp": T0 + 900,
         "value": -0.5}]})
    assert response.json() == {"accepted": 2, "duplicates": 1, "rejected": 0, "errors": []}
    stored = (await client.get(f"/v1/devices/{meter['id']}/readings")).json()["items"]
    assert [(r["obisCode"], r["value"]) for r in stored] == [("1-1:1.8.0", 2.25), ("1-1:1.8.0", -0.5)]
    received = {datetime.fromisoformat(r["receivedAt"].replace("Z", "+00:00")) for r in stored}
    assert len(received) == 1 and before <= received.pop() <= datetime.now(UTC)


async def test_epoch_milliseconds_seconds_and_iso_name_the_same_second(client: AsyncTestClient) -> None:
    """Epoch ms are detected and converted; ISO 8601 with offset and epoch s agree."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    iso = datetime.fromtimestamp(T0, UTC).isoformat()
    response = await client.post("/v1/readings", json={"readings": [
        _item(meter, T0 * 1000 + 999), _item(meter, T0 + 0.5), _item(meter, iso.replace("+00:00", "+01:00")),
        _item(meter, iso)]})
    assert response.json()["accepted"] == 2 and response.json()["duplicates"] == 2
    stored = (await client.get(f"/v1/devices/{meter}/readings")).json()["items"]
    assert [r["timestamp"] for r in stored] == [
        datetime.fromtimestamp(T0 - 3600, UTC).isoformat().replace("+00:00", "Z"),
        datetime.fromtimestamp(T0, UTC).isoformat().replace("+00:00", "Z")]


async def test_listing_filters_pages_and_shows_delivery_status(client: AsyncTestClient) -> None:
    """from/to/obisCode filter, the cursor pages, and pending or not_sent is shown per reading."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    await client.post("/v1/readings", json={"readings": [_item(meter, T0 + n * 900) for n in range(10)]
                                           + [_item(meter, T0, code="1-1:2.8.0")]})
    path = f"/v1/devices/{meter}/readings"
    page = (await client.get(path, params={"from": str(T0 + 900), "to": str(T0 + 9 * 900),
                                           "obisCode": "1.8.0", "limit": 5})).json()
    assert len(page["items"]) == 5 and page["nextCursor"]
    rest = (await client.get(path, params={"from": str(T0 + 900), "to": str(T0 + 9 * 900),
                                           "obisCode": "1.8.0", "cursor": page["nextCursor"]})).json()
    assert len(rest["items"]) == 3 and rest["nextCursor"] is None
    assert {r["delivery"]["status"] for r in page["items"] + rest["items"]} == {"pending"}
    other = await _customer(client, providers=["volue"], ref="c-2")
    response = await client.post("/v1/readings", json={"readings": [_item(other["meter"]["id"], T0)]})
    assert response.json()["accepted"] == 1
    listed = (await client.get(f"/v1/devices/{other['meter']['id']}/readings")).json()["items"]
    assert listed[0]["delivery"]["status"] == "not_sent"
    bad = await client.get(path, params={"obisCode": "x"})
    assert bad.status_code == 400 and bad.json()["field"] == "obisCode"


async def test_cursor_pages_through_codes_that_share_a_timestamp(client: AsyncTestClient) -> None:
    """Pages of one reading each list every (timestamp, code) once, in order; a forged cursor is a 400."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    codes = ["1-1:1.8.0", "1-1:2.8.0", "1-1:1.9.0 P.01"]
    await client.post("/v1/readings", json={"readings": [
        _item(meter, T0 + n, code=code) for n in range(2) for code in codes]})
    path = f"/v1/devices/{meter}/readings"
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params)).json()
        seen.extend((r["timestamp"], r["obisCode"]) for r in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and seen == sorted(seen)
    assert [code for _, code in seen[:3]] == sorted(codes)
    # "123": no code after the timestamp; "1700000000:42": an id cursor of before migration 0005
    for forged in ("not-base64!", "MTIz", "MTcwMDAwMDAwMDo0Mg"):
        bad = await client.get(path, params={"cursor": forged})
        assert bad.status_code == 400 and bad.json()["field"] == "cursor"


async def test_readings_a_failed_round_did_deliver_show_delivered_by_their_key(
    client: AsyncTestClient, settings: Settings
) -> None:
    """A failed task records the readings its successful requests carried, by key; the rest stay pending."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    await client.post("/v1/readings", json={"readings": [_item(meter, T0 + n) for n in range(4)]
                                           + [_item(meter, T0, code="1-1:2.8.0")]})
    engine = create_engine(settings.store.database_url)
    try:
        async with session_factory(engine)() as session:
            task = (await session.exec(select(OutboxTaskRow).where(
                OutboxTaskRow.provider == READINGS_QUEUE))).one()
            delivered = [(meter, "1-1:1.8.0", T0 + 1, 1.5), (meter, "1-1:2.8.0", T0, 1.5)]
            failed = RoundResult(task=task, error=TransientError("503 from upstream"), detail=delivered)
            await ReadingsDelivery(settings=settings).record(session, [failed])
            await session.commit()
    finally:
        await engine.dispose()
    listed = (await client.get(f"/v1/devices/{meter}/readings")).json()["items"]
    status = {(r["timestamp"], r["obisCode"]): r["delivery"]["status"] for r in listed}
    iso = [datetime.fromtimestamp(T0 + n, UTC).isoformat().replace("+00:00", "Z") for n in range(4)]
    assert status == {(iso[0], "1-1:1.8.0"): "pending", (iso[1], "1-1:1.8.0"): "delivered",
                      (iso[2], "1-1:1.8.0"): "pending", (iso[3], "1-1:1.8.0"): "pending",
                      (iso[0], "1-1:2.8.0"): "delivered"}


async def test_envelope_errors_and_scope(client: AsyncTestClient) -> None:
    """A body without readings, or with more than 10,000, is a 400; the scope is readings:write."""
    assert (await client.post("/v1/readings", json={"items": []})).status_code == 400
    assert (await client.post("/v1/readings", json={"readings": []})).status_code == 400
    many = {"readings": [_item("x", T0)] * 10_001}
    response = await client.post("/v1/readings", json=many)
    assert response.status_code == 400 and response.json()["field"] == "readings"
    no_scope = await client.post("/v1/readings", json={"readings": [_item("x", T0)]},
                                 headers={"Authorization": "Bearer nope"})
    assert no_scope.status_code == 401


async def test_ten_thousand_items_fit_the_raised_body_limit(client: AsyncTestClient) -> None:
    """10,000 readings (well over GATEWAY_MAX_BODY_BYTES) are taken in one request."""
    tree = await _customer(client)
    meter = tree["meter"]["id"]
    items = [{**_item(meter, T0 + n), "obisCode": "1-1:1.8.0"} for n in range(10_000)]
    body = json.dumps({"readings": items}).encode()
    assert len(body) > 500_000
    response = await client.post("/v1/readings", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text[:300]
    assert response.json()["accepted"] == 10_000
    assert len(await _tasks(client)) == 10
