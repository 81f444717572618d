"""The SPARK programme, the current reports, webhook upkeep and the simulations, against
the Volue emulator, with every request and every answer checked by openapi-core.

Two paths are checked: the Volue adapter (each call it can make here, through a response
hook on its own HTTP client) and the emulator's routes as a plain client uses them (the
``api`` fixture). The document is read as ``conftest.load_spec`` reads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from gateway.core.reports import (
    DeviceEnergyUsage,
    EnergyPoint,
    LpcAnswer,
    LpcTarget,
    Report,
    ReportItem,
    SiteEnergyPlan,
    SiteEnergyUsage,
)
from providers.base import Enrollment, RejectedError
from providers.factory import VolueConfig, build_volue
from providers.volue.adapter import VolueAdapter
from providers.volue.emulator.app import API_PREFIX
from tests.contract.volue.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    Emulator,
    SpecChecker,
)
from tests.contract.volue.test_events_webhooks import AREA_1, TRONDHEIM, Receiver
from tests.contract.volue.test_events_webhooks import receiver as receiver

HOUR = datetime(2026, 3, 3, 12, tzinfo=UTC)
POINTS = [{"timestamp": (HOUR + timedelta(hours=h)).isoformat(), "kiloWattHours": 1.5 + h}
          for h in range(3)]
CURVE = [EnergyPoint(HOUR + timedelta(hours=h), 1.5 + h) for h in range(3)]


@pytest.fixture
async def adapter(emulator: Emulator, spec_checker: SpecChecker) -> AsyncIterator[VolueAdapter]:
    """The Volue adapter built as the gateway builds it; every answer is checked by the spec."""
    built = build_volue(VolueConfig(
        base_url=emulator.base_url + API_PREFIX, token_url=emulator.base_url + "/connect/token",
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, timeout_s=5.0))

    async def check(response: httpx.Response) -> None:
        await response.aread()
        spec_checker(response)

    built.client.http.client.event_hooks = {"request": [], "response": [check]}
    try:
        yield built
    finally:
        await built.aclose()
    refused = [e for e in spec_checker.request_errors if e is not None]
    assert refused == [], refused


def _user_at(api: httpx.Client, user: str, coordinates: dict[str, float] | None,
             meter_points: list[str]) -> None:
    assert api.post("/users", json={"userId": user}).status_code == 201
    body: dict[str, Any] = {"locationId": f"{user}-home", "locationType": "Residential"}
    if coordinates is not None:
        body["coordinates"] = coordinates
    if meter_points:
        body["meterPointIds"] = meter_points
    assert api.post(f"/users/{user}/locations", json=body).status_code == 201


async def test_adapter_programme_calls_match_the_document(
    api: httpx.Client, adapter: VolueAdapter, spec_checker: SpecChecker
) -> None:
    """Enrollment, eligibility, meter point eligibility and compensation requests and answers validate."""
    _user_at(api, "u1", AREA_1, ["707057500000000001"])
    assert await adapter.customer_eligible("u1") is True
    assert await adapter.meter_point_eligible("707057500000000001") is True
    assert await adapter.enrollment("u1") == Enrollment(enrolled=False)
    enrolled = await adapter.enroll("u1")
    assert enrolled.enrolled
    await adapter.send_report(adapter.render_report(Report(items=[SiteEnergyUsage(
        site_id="u1-home", meter_point_id="707057500000000001", interval_s=3600, points=CURVE)])))
    found = await adapter.compensation("u1")
    assert found is not None and found.period_from is not None and found.period_to is not None
    [site] = found.sites
    assert (site.site_id, site.currency, site.problems) == ("u1-home", "NOK", ())
    assert site.active_amount == pytest.approx((1.5 + 2.5 + 3.5) * 0.5)
    assert await adapter.leave("u1") is True
    assert await adapter.leave("u1") is False
    assert await adapter.enrollment("nobody") is None
    assert spec_checker.checked >= 10


async def test_an_ineligible_user_is_refused_enrollment(
    api: httpx.Client, adapter: VolueAdapter
) -> None:
    """Volue refuses to enroll a user none of whose locations lies in a test area."""
    _user_at(api, "u2", TRONDHEIM, ["707057500000000002"])
    assert await adapter.customer_eligible("u2") is False
    with pytest.raises(RejectedError, match="not eligible"):
        await adapter.enroll("u2")


def test_compensation_names_a_location_without_meter_point_id(api: httpx.Client) -> None:
    """A location without a meter point id carries MissingMpidOnLocation and its amount is blocked."""
    _user_at(api, "u3", AREA_1, [])
    assert api.post("/users/u3/enrollment").status_code == 200
    usage = {"payloadType": "EnergyUsage", "resourceId": "r-none", "locationId": "u3-home",
             "resolution": "01:00:00", "points": POINTS}
    assert api.post("/reports", json={"payloads": [usage]}).status_code == 200
    body = api.get("/users/u3/compensation").json()
    [location] = body["locationCompensations"]
    assert location["problems"][0]["problemType"] == "MissingMpidOnLocation"
    assert location["activeAmount"] == 0.0 and location["blockedAmount"] > 0
    assert api.get("/users/nobody/compensation").status_code == 404


SITE_TARGET = LpcTarget(site_id="l1", meter_point_id="m1")
DEVICE_TARGET = LpcTarget(site_id="l1", meter_point_id="m1", device_id="charger-1")


@pytest.mark.parametrize(("payload_type", "item"), [
    ("EnergyUsage", DeviceEnergyUsage(device_id="charger-1", site_id="l1", interval_s=3600, points=CURVE)),
    ("EnergyUsage", DeviceEnergyUsage(device_id="v1", site_id=None, meter_point_id="m1", interval_s=3600,
                                      points=CURVE)),
    ("LocationEnergyUsage", SiteEnergyUsage(site_id="l1", meter_point_id="m1", interval_s=3600,
                                            points=CURVE)),
    ("LocationEnergyUsagePlan", SiteEnergyPlan(site_id="l1", meter_point_id="m1", interval_s=3600,
                                               baseline=CURVE, flexibility=CURVE[:1])),
    ("LocationLPCAcknowledgement", LpcAnswer(devices=False, declined=[SITE_TARGET])),
    ("LocationLPCAcknowledgement", LpcAnswer(devices=False, accepted=[], declined=[SITE_TARGET])),
    ("ResourceLPCAcknowledgement", LpcAnswer(devices=True, accepted=[DEVICE_TARGET])),
])
async def test_every_canonical_report_the_adapter_renders_validates(
    adapter: VolueAdapter, emulator: Emulator, payload_type: str, item: ReportItem
) -> None:
    """Each canonical report item renders as its PostReportRequest payload type, which the document
    takes (the request is checked by openapi-core) and Volue stores."""
    body = adapter.render_report(Report(items=[item], event_id="e-1"))
    [payload] = msgspec.to_builtins(body)["payloads"]
    assert payload["payloadType"] == payload_type
    report_id = await adapter.send_report(body)
    assert report_id in emulator.volue.store.reports


def test_emulator_refuses_the_quickstart_charge_action(api: httpx.Client, spec_checker: SpecChecker) -> None:
    """A report with a top-level name, or a VehicleChargeAction payload, is a 400 as the document says."""
    usage = {"payloadType": "EnergyUsage", "resourceId": "r1", "resolution": "01:00:00", "points": POINTS}
    named = {"name": "Vehicle Started Charging", "payloads": [usage]}
    assert api.post("/reports", json=named).status_code == 400
    assert spec_checker.last_request_refused_for_its_body
    action = {"payloadType": "VehicleChargeAction", "resourceId": "r1", "actionType": "Start"}
    assert api.post("/reports", json={"payloads": [action]}).status_code == 400
    assert spec_checker.last_request_refused_for_its_body


async def test_webhook_update_enable_and_logs_validate(
    adapter: VolueAdapter, api: httpx.Client, emulator: Emulator, receiver: Receiver
) -> None:
    """A webhook is updated, disabled and enabled; its notification attempts show in the logs."""
    hook = await adapter.register_webhook(url="https://gateway.example/hook", name="g", secret="Secret123%")
    changed = await adapter.update_webhook(hook.webhook_id, url=receiver.url,
                                           types=["UserEligibilityUpdated"])
    assert changed is not None and changed.url == receiver.url
    assert changed.types == ("UserEligibilityUpdated",)
    assert await adapter.set_webhook_enabled(hook.webhook_id, False)
    assert [h.enabled for h in await adapter.list_webhooks()] == [False]
    assert await adapter.set_webhook_enabled(hook.webhook_id, True)
    assert not await adapter.set_webhook_enabled("no-such-hook", True)
    assert await adapter.update_webhook("no-such-hook", url=receiver.url) is None
    _user_at(api, "u4", AREA_1, ["707057500000000004"])
    receiver.wait_for(lambda: len(receiver.calls) >= 1)
    await emulator.volue.hub.drain()
    logs = await adapter.webhook_logs(hook.webhook_id)
    assert [(log.event_type, log.status_code, log.timed_out) for log in logs] == [
        ("UserEligibilityUpdated", 200, False)]


def test_partner_simulation_creates_and_removes_eligible_users(api: httpx.Client) -> None:
    """POST /simulation/partner creates users in a test area; DELETE removes them."""
    assert api.post("/simulation/partner").status_code == 201
    eligible = api.get("/users/eligible").json()["users"]
    assert [u["userId"] for u in eligible] == ["sim-user-1", "sim-user-2", "sim-user-3"]
    assert api.get("/users/sim-user-1/resources").json()["resources"]
    assert api.delete("/simulation/partner").status_code == 200
    assert api.get("/users").json()["users"] == []


def test_lpc_simulations_take_the_documented_shapes(api: httpx.Client) -> None:
    """The LPC simulations take {location|resource: {...}, points} and emit events that validate."""
    point = {"maxPowerInKiloWatts": 4.0, "timestamp": HOUR.isoformat()}
    located = api.post("/simulation/events/lpc/locations", json={"locations": [
        {"location": {"locationId": "l1", "meterPointId": "m1"}, "points": [point]}]})
    assert located.status_code == 200, located.text
    [target] = located.json()["simulatedEvent"]["payload"]["targets"]
    assert (target["locationId"], target["meterPointId"], target["points"][0]["maxPowerInKiloWatts"]) == (
        "l1", "m1", 4.0)
    resourced = api.post("/simulation/events/lpc/resources", json={"resources": [
        {"resource": {"locationId": "l1", "resourceId": "r1", "meterPointId": "m1"}}]})
    assert resourced.status_code == 200, resourced.text
    assert resourced.json()["simulatedEvent"]["payload"]["targets"][0]["resourceId"] == "r1"
    old_shape = {"locations": [{"locationId": "l1", "meterPointId": "m1", "resolution": "01:00:00",
                                "points": [point]}]}
    assert api.post("/simulation/events/lpc/locations", json=old_shape).status_code == 400
    no_ids = {"locations": [{"location": {"locationId": "l1"}}]}
    assert api.post("/simulation/events/lpc/locations", json=no_ids).status_code == 400
