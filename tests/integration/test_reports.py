"""Reports to Volue: device and site energy usage, usage plans and LPC answers reach the
emulator in the current document's shapes; bad payloads get 4xx naming the field; LPC
requests are acknowledged automatically when the setting says so, or per target by a caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from jsonschema.exceptions import ValidationError
from litestar.testing import AsyncTestClient
from openapi_schema_validator import OAS30Validator

from gateway.app import create_app
from gateway.core.clock import utcnow
from gateway.core.settings import load_settings
from providers.volue import schemas as vs
from providers.volue.webhooks import sign
from tests.conftest import ADMIN_KEY
from tests.contract.volue.conftest import load_spec
from tests.integration.conftest import TREE, wait_synced

SPEC = load_spec()
NO_VEHICLES = {k: v for k, v in TREE.items() if k != "vehicles"}
VEHICLE = {"externalRef": "v-1", "name": "Car", "brand": "Polestar", "model": "2", "year": 2023,
           "vin": "YSMED1234PE123456"}
HOURS = [{"timestamp": "2025-03-01T00:00:00Z", "kwh": 1.25},
         {"timestamp": "2025-03-01T01:00:00Z", "kwh": 0.5}]


def spec_check(body: dict[str, Any]) -> None:
    """Validate a ``POST /reports`` body against the spec's ``PostReportRequest`` (payload
    schemas made satisfiable as the contract tests do)."""
    schema = {"$ref": "#/components/schemas/PostReportRequest", "components": SPEC["components"]}
    OAS30Validator(schema).validate(body)


async def _report_sent(client: AsyncTestClient, report_id: str, timeout: float = 20.0) -> dict[str, Any]:
    for _ in range(int(timeout / 0.05)):
        body = (await client.get(f"/v1/reports/{report_id}")).json()
        if body["status"] != "pending":
            return dict(body)
        await asyncio.sleep(0.05)
    tasks = (await client.get("/v1/sync/tasks")).json()["items"]
    raise AssertionError(f"report {report_id} still pending: {tasks}")


async def _customer(client: AsyncTestClient, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    created = await client.post("/v1/customers", json=data)
    assert created.status_code == 201, created.text
    customer = created.json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    return customer, site


async def test_charger_energy_usage_reaches_volue_as_energy_usage(live_client: AsyncTestClient,
                                                                  emulators: dict[str, Any]) -> None:
    """A charger's hourly usage becomes one EnergyUsage payload naming the charger and its site."""
    _, site = await _customer(live_client, NO_VEHICLES)
    charger = (await live_client.post(f"/v1/sites/{site['id']}/devices", json={
        "externalRef": "c-1", "kind": "charger", "name": "Wallbox"})).json()
    response = await live_client.post(f"/v1/devices/{charger['id']}/energy-usage", json={"points": HOURS})
    assert response.status_code == 202, response.text
    report = await _report_sent(live_client, response.json()["id"])
    assert report["status"] == "sent", report
    assert report["kind"] == "device_energy_usage"
    assert report["body"] == {"payloads": [{
        "payloadType": "EnergyUsage", "resourceId": charger["id"], "locationId": site["id"],
        "resolution": "01:00:00",
        "points": [{"timestamp": "2025-03-01T00:00:00Z", "kiloWattHours": 1.25},
                   {"timestamp": "2025-03-01T01:00:00Z", "kiloWattHours": 0.5}]}]}
    spec_check(report["body"])
    assert report["volueReportId"] in emulators["volue"].state.volue.store.reports


async def test_energy_usage_plan_reaches_volue(live_client: AsyncTestClient,
                                               emulators: dict[str, Any]) -> None:
    """A baseline and a flexibility become one LocationEnergyUsagePlan for the main meter point."""
    _, site = await _customer(live_client, NO_VEHICLES)
    response = await live_client.post(f"/v1/sites/{site['id']}/energy-usage-plan",
                                      json={"baseline": HOURS, "flexibility": HOURS[:1]})
    assert response.status_code == 202, response.text
    report = await _report_sent(live_client, response.json()["id"])
    assert report["status"] == "sent", report
    [payload] = report["body"]["payloads"]
    assert (payload["payloadType"], payload["meterPointId"], len(payload["baseline"]),
            len(payload["flexibility"])) == ("LocationEnergyUsagePlan", "707057500012345678", 2, 1)
    spec_check(report["body"])
    assert report["volueReportId"] in emulators["volue"].state.volue.store.reports


async def test_energy_usage_reaches_volue_as_location_energy_usage(live_client: AsyncTestClient,
                                                                   emulators: dict[str, Any]) -> None:
    """Hourly points become one LocationEnergyUsage payload for the site's main meter point."""
    _, site = await _customer(live_client, NO_VEHICLES)
    response = await live_client.post(f"/v1/sites/{site['id']}/energy-usage", json={"points": HOURS})
    assert response.status_code == 202, response.text
    report = await _report_sent(live_client, response.json()["id"])
    assert report["status"] == "sent", report
    assert report["body"] == {"payloads": [{
        "payloadType": "LocationEnergyUsage", "locationId": site["id"],
        "meterPointId": "707057500012345678", "resolution": "01:00:00",
        "points": [{"timestamp": "2025-03-01T00:00:00Z", "kiloWattHours": 1.25},
                   {"timestamp": "2025-03-01T01:00:00Z", "kiloWattHours": 0.5}]}]}
    spec_check(report["body"])
    assert report["volueReportId"] in emulators["volue"].state.volue.store.reports


def test_spec_check_can_fail() -> None:
    """The spec check refuses a payload type the spec does not know."""
    with pytest.raises(ValidationError):
        spec_check({"payloads": [{"payloadType": "Nope", "locationId": "x"}]})


@pytest.mark.parametrize(("path", "body", "field"), [
    ("energy-usage", {}, "points"),
    ("energy-usage", {"points": [{"timestamp": "2025-03-01T00:30:00Z", "kwh": 1}]}, "points[0].timestamp"),
    ("energy-usage", {"points": HOURS, "colour": "red"}, "colour"),
    ("energy-usage", {"points": HOURS, "meterPointId": "abc"}, "meterPointId"),
    ("energy-usage-plan", {"baseline": HOURS}, "flexibility"),
    ("energy-usage-plan", {"baseline": HOURS, "flexibility": [HOURS[1], HOURS[0]]},
     "flexibility[1].timestamp"),
])
async def test_bad_device_and_plan_reports_name_the_field(client: AsyncTestClient, path: str,
                                                          body: dict[str, Any], field: str) -> None:
    """Each malformed device energy-usage or usage-plan report is refused with 400 naming the field."""
    customer, site = await _customer(client, NO_VEHICLES)
    vehicle = (await client.post(f"/v1/customers/{customer['id']}/vehicles", json=VEHICLE)).json()
    target = f"/v1/devices/{vehicle['id']}" if path == "energy-usage" else f"/v1/sites/{site['id']}"
    response = await client.post(f"{target}/{path}", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


@pytest.mark.parametrize(("body", "field"), [
    ({"points": []}, "points"),
    ({"points": [{"timestamp": "2025-03-01T00:30:00Z", "kwh": 1}]}, "points[0].timestamp"),
    ({"points": [HOURS[1], HOURS[0]]}, "points[1].timestamp"),
    ({"points": [{"timestamp": "2025-03-01T00:00:00", "kwh": 1}]}, "points[0].timestamp"),
    ({"points": [{"timestamp": "2025-03-01T00:00:00Z", "kwh": -2}]}, "points[0].kwh"),
    ({"points": HOURS, "meterPointId": "707057500099999999"}, "meterPointId"),
    ({"points": HOURS, "meterPointId": "abc"}, "meterPointId"),
])
async def test_bad_energy_usage_names_the_field(client: AsyncTestClient, body: dict[str, Any],
                                                field: str) -> None:
    """Each malformed energy-usage report is refused with 400 naming the field at fault."""
    _, site = await _customer(client, NO_VEHICLES)
    response = await client.post(f"/v1/sites/{site['id']}/energy-usage", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


async def test_reports_refused_where_volue_cannot_take_them(client: AsyncTestClient) -> None:
    """No device energy usage for meters, nothing for customers not at Volue, 404 for unknown ids."""
    _, site = await _customer(client, NO_VEHICLES)
    meter = next(d for d in (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
                 if d["kind"] == "meter")
    refused = await client.post(f"/v1/devices/{meter['id']}/energy-usage", json={"points": HOURS})
    assert refused.status_code == 409
    zf_only = {**NO_VEHICLES, "externalRef": "c-zf", "providers": ["zaehlerfreunde"],
               "sites": [{**NO_VEHICLES["sites"][0], "externalRef": "s-zf", "devices": [  # type: ignore[index]
                   {"externalRef": "m-zf", "kind": "meter", "name": "M", "medium": "electricity",
                    "isMain": True, "meterPointId": "707057500012345679"}]}]}
    _, zf_site = await _customer(client, zf_only)
    refused = await client.post(f"/v1/sites/{zf_site['id']}/energy-usage", json={"points": HOURS})
    assert refused.status_code == 409
    assert "not enrolled at Volue" in refused.json()["detail"]
    missing = await client.post("/v1/sites/00000000-0000-0000-0000-000000000000/energy-usage",
                                json={"points": HOURS})
    assert missing.status_code == 404


@pytest.fixture
async def acking_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY, volue_webhook_secret="s3cret",
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        volue_auto_ack_lpc=True, events_poll_interval_s=0,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def test_lpc_request_is_acknowledged_automatically(acking_client: AsyncTestClient,
                                                         emulators: dict[str, Any]) -> None:
    """A LocationLPC event for our site is answered with a LocationLPCAcknowledgement report."""
    _, site = await _customer(acking_client, NO_VEHICLES)
    await wait_synced(acking_client, [f"/v1/sites/{site['id']}"])
    target = vs.LocationLPCTarget(location_id=site["id"], meter_point_id="707057500012345678",
                                  resolution="01:00:00", points=[])
    other = vs.LocationLPCTarget(location_id="not-ours", meter_point_id="707057500012345670",
                                 resolution="01:00:00", points=[])
    note = vs.EventNotification(notification_id="n-1", event_id="e-lpc-1", event_created_at_utc=utcnow(),
                                notification_sent_utc=utcnow(),
                                notification_type=vs.NotificationType.LOCATION_LPC_REQUESTED,
                                payload=vs.LocationLPCPayload(targets=[target, other]))
    body = msgspec.json.encode(note)
    received = await acking_client.post("/v1/providers/volue/webhook", content=body,
                                        headers={"x-payload-signature": sign(body, "s3cret")})
    assert received.status_code == 200, received.text
    event = (await acking_client.get("/v1/events", params={"siteId": site["id"]})).json()["items"][0]
    assert event["type"] == "LocationLPCRequested"
    tasks = (await acking_client.get("/v1/sync/tasks", params={"provider": "volue"})).json()["items"]
    report_task = next(t for t in tasks if t["entityType"] == "volue_report")
    report = await _report_sent(acking_client, report_task["entityId"])
    assert report["status"] == "sent", report
    assert report["kind"] == "lpc_ack"
    assert report["body"] == {"eventId": "e-lpc-1", "payloads": [{
        "payloadType": "LocationLPCAcknowledgement",
        "acknowledgedTargets": [{"locationId": site["id"], "meterPointId": "707057500012345678"}],
        "declinedTargets": [{"locationId": "not-ours", "meterPointId": "707057500012345670"}]}]}
    spec_check(report["body"])


@pytest.fixture
async def answering_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY, volue_webhook_secret="s3cret",
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        events_poll_interval_s=0,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _lpc_event(client: AsyncTestClient, site_id: str, starts_in: timedelta) -> str:
    """Receive a LocationLPC request for the site and one location not ours; our event id."""
    start = utcnow().replace(microsecond=0) + starts_in
    points = [vs.LPCDataPoint(max_power_in_kilo_watts=5.0, timestamp=start)]
    targets = [vs.LocationLPCTarget(location_id=site_id, meter_point_id="707057500012345678",
                                    resolution="01:00:00", points=points),
               vs.LocationLPCTarget(location_id="not-ours", meter_point_id="707057500012345670",
                                    resolution="01:00:00", points=points)]
    note = vs.EventNotification(notification_id=f"n-{site_id}", event_id=f"e-{site_id}",
                                event_created_at_utc=utcnow(), notification_sent_utc=utcnow(),
                                notification_type=vs.NotificationType.LOCATION_LPC_REQUESTED,
                                payload=vs.LocationLPCPayload(targets=targets))
    body = msgspec.json.encode(note)
    received = await client.post("/v1/providers/volue/webhook", content=body,
                                 headers={"x-payload-signature": sign(body, "s3cret")})
    assert received.status_code == 200, received.text
    event = (await client.get("/v1/events", params={"siteId": site_id})).json()["items"][0]
    return str(event["id"])


async def test_lpc_decline_per_target_reaches_volue(answering_client: AsyncTestClient,
                                                    emulators: dict[str, Any]) -> None:
    """A caller declines our site's LPC target before the deadline; the report reaches Volue and validates."""
    _, site = await _customer(answering_client, NO_VEHICLES)
    await wait_synced(answering_client, [f"/v1/sites/{site['id']}"])
    event_id = await _lpc_event(answering_client, site["id"], timedelta(hours=2))
    tasks = (await answering_client.get("/v1/sync/tasks", params={"provider": "volue"})).json()["items"]
    assert not [t for t in tasks if t["entityType"] == "volue_report"]  # no automatic answer
    response = await answering_client.post(f"/v1/events/{event_id}/lpc-acknowledgement",
                                           json={"decline": [site["id"]], "accept": ["not-ours"]})
    assert response.status_code == 202, response.text
    report = await _report_sent(answering_client, response.json()["id"])
    assert report["status"] == "sent", report
    assert report["body"] == {"eventId": f"e-{site['id']}", "payloads": [{
        "payloadType": "LocationLPCAcknowledgement",
        "acknowledgedTargets": [{"locationId": "not-ours", "meterPointId": "707057500012345670"}],
        "declinedTargets": [{"locationId": site["id"], "meterPointId": "707057500012345678"}]}]}
    spec_check(report["body"])
    assert report["volueReportId"] in emulators["volue"].state.volue.store.reports
    again = await answering_client.post(f"/v1/events/{event_id}/lpc-acknowledgement",
                                        json={"accept": [site["id"]]})
    assert again.status_code == 409 and "answered already" in again.json()["detail"]


async def test_lpc_answers_are_refused_after_the_deadline_or_for_unknown_targets(
        answering_client: AsyncTestClient) -> None:
    """A late answer is a 409; an unknown or doubly named target a 400 naming the list; a price
    curve event is no LPC request."""
    _, site = await _customer(answering_client, NO_VEHICLES)
    late = await _lpc_event(answering_client, site["id"], timedelta(hours=-1))
    path = f"/v1/events/{late}/lpc-acknowledgement"
    refused = await answering_client.post(path, json={"decline": [site["id"]]})
    assert refused.status_code == 409 and "deadline" in refused.json()["detail"]
    _, other = await _customer(answering_client, {**NO_VEHICLES, "externalRef": "c-2", "sites": [
        {**NO_VEHICLES["sites"][0], "externalRef": "s-2", "devices": []}]})  # type: ignore[index]
    open_event = await _lpc_event(answering_client, other["id"], timedelta(hours=1))
    path = f"/v1/events/{open_event}/lpc-acknowledgement"
    unknown = await answering_client.post(path, json={"accept": ["nowhere"]})
    assert (unknown.status_code, unknown.json()["field"]) == (400, "accept")
    both = await answering_client.post(path, json={"accept": [other["id"]], "decline": [other["id"]]})
    assert (both.status_code, both.json()["field"]) == (400, "decline")
    empty = await answering_client.post(path, json={})
    assert empty.status_code == 400
    missing = await answering_client.post("/v1/events/nope/lpc-acknowledgement", json={"accept": ["x"]})
    assert missing.status_code == 404
