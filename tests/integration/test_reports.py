"""Reports to Volue: charge actions and energy usage reach the emulator in the documented shapes;
bad payloads get 4xx naming the field; LPC requests are acknowledged when the setting says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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


async def test_charge_action_reaches_volue_in_seed_shape(live_client: AsyncTestClient,
                                                         emulators: dict[str, Any]) -> None:
    """A start action queued right after the vehicle is sent once the vehicle exists at Volue."""
    customer, _ = await _customer(live_client, NO_VEHICLES)
    vehicle = (await live_client.post(f"/v1/customers/{customer['id']}/vehicles", json=VEHICLE)).json()
    response = await live_client.post(f"/v1/devices/{vehicle['id']}/charge-actions", json={
        "actionType": "start", "power": 11000, "stateOfCharge": 0.5, "batteryCapacity": 75000,
        "location": {"latitude": 63.1, "longitude": 10.7}})
    assert response.status_code == 202, response.text
    report = await _report_sent(live_client, response.json()["id"])
    assert report["status"] == "sent", report
    assert report["body"] == {"name": "Vehicle Started Charging", "payloads": [{
        "payloadType": "VehicleChargeAction", "resourceId": vehicle["id"], "actionType": "Start",
        "location": {"latitude": 63.1, "longitude": 10.7}, "power": 11000.0, "stateOfCharge": 0.5,
        "batteryCapacity": 75000.0}]}
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


@pytest.mark.parametrize(("body", "field"), [
    ({"actionType": "go"}, "actionType"),
    ({}, "actionType"),
    ({"actionType": "stop", "stateOfCharge": 1.5}, "stateOfCharge"),
    ({"actionType": "stop", "power": -1}, "power"),
    ({"actionType": "stop", "batteryCapacity": "big"}, "batteryCapacity"),
    ({"actionType": "stop", "location": {"latitude": 91, "longitude": 0}}, "location.latitude"),
    ({"actionType": "stop", "colour": "red"}, "colour"),
])
async def test_bad_charge_actions_name_the_field(client: AsyncTestClient, body: dict[str, Any],
                                                 field: str) -> None:
    """Each malformed charge action is refused with 400 naming the field at fault."""
    customer, _ = await _customer(client, NO_VEHICLES)
    vehicle = (await client.post(f"/v1/customers/{customer['id']}/vehicles", json=VEHICLE)).json()
    response = await client.post(f"/v1/devices/{vehicle['id']}/charge-actions", json=body)
    assert response.status_code == 400, response.text
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
    """No charge actions for non-vehicles, nothing for customers not at Volue, 404 for unknown ids."""
    _, site = await _customer(client, NO_VEHICLES)
    tank = next(d for d in (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
                if d["kind"] == "hot_water_tank")
    refused = await client.post(f"/v1/devices/{tank['id']}/charge-actions", json={"actionType": "start"})
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
