"""Eligibility, events and signed webhook delivery with retries and logs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, Request, Response, post
from openapi_schema_validator import OAS30Validator

from providers.emulation import serve_in_thread
from providers.volue import schemas
from providers.volue.webhooks import verify
from tests.contract.volue.conftest import Emulator, SpecChecker, load_spec

AREA_1 = {"latitude": 79.51913682860402, "longitude": 15.97611317258921}
AREA_2 = {"latitude": 78.21661621129984, "longitude": 15.63509153386616}
TRONDHEIM = {"latitude": 63.1, "longitude": 10.7}
SECRET = "Secret123%"


@dataclass
class Receiver:
    """A webhook endpoint that fails its first ``fail_first`` calls with 500."""

    url: str = ""
    fail_first: int = 0
    calls: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "webhook not received in time"
            time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    @post("/notify", status_code=200)
    async def notify(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await request.body()
        with rec.lock:
            status = 500 if len(rec.calls) < rec.fail_first else 200
            rec.calls.append((dict(request.headers), body, status))
        return Response(content=b"", status_code=status)

    with serve_in_thread(Litestar([notify], logging_config=None)) as url:
        rec.url = f"{url}/notify"
        yield rec


def _setup_user_with_tank(api: httpx.Client, coordinates: dict[str, float]) -> None:
    api.post("/users", json={"userId": "u1"})
    body = {"locationId": "l1", "locationType": "Residential", "coordinates": coordinates}
    assert api.post("/users/u1/locations", json=body).status_code == 201
    tank = {"resourceId": "r1", "resourceType": "HotWaterTank"}
    assert api.post("/users/u1/locations/l1/resources", json=tank).status_code == 201


def _eligibility_events(api: httpx.Client) -> list[dict[str, object]]:
    events = api.get("/events").json()["events"]
    return [e["payload"] for e in events if e["payload"]["payloadType"] == "UserEligibility"]


def test_moving_a_location_in_and_out_emits_eligibility_events(api: httpx.Client) -> None:
    """A PATCH into a test area adds the user, one out of it removes the user."""
    _setup_user_with_tank(api, TRONDHEIM)
    assert api.get("/users/u1/eligibility").json() == {"userId": "u1", "isEligible": False}
    assert _eligibility_events(api) == []
    api.patch("/users/u1/locations/l1", json={"coordinates": AREA_2})
    assert api.get("/users/u1/eligibility").json()["isEligible"] is True
    api.patch("/users/u1/locations/l1", json={"coordinates": TRONDHEIM})
    changes = [(p["addedUsers"], p["removedUsers"]) for p in _eligibility_events(api)]
    assert changes == [(["u1"], []), ([], ["u1"])]


def test_price_curves_target_resources_at_eligible_locations(api: httpx.Client) -> None:
    """A simulated price curve without targets goes to every resource in a test area."""
    _setup_user_with_tank(api, AREA_1)
    api.post("/users", json={"userId": "u2"})
    api.post("/users/u2/locations", json={"locationId": "far", "coordinates": TRONDHEIM})
    api.post("/users/u2/locations/far/resources", json={"resourceId": "r2", "resourceType": "HVAC"})
    simulated = api.post("/simulation/events/pricecurve", json={}).json()["simulatedEvent"]
    assert simulated["payload"]["targets"] == [{"resourceId": "r1", "locationId": "l1"}]
    assert len(simulated["payload"]["priceCurveDelta"]["points"]) == 24
    assert api.get(f"/events/{simulated['id']}").json() == simulated
    assert api.get("/events/missing").status_code == 404
    bad = {"targets": [{"resourceId": "r2", "locationId": "l1"}]}
    assert api.post("/simulation/events/pricecurve", json=bad).status_code == 400


def test_webhook_delivery_is_signed_retried_and_logged(
    api: httpx.Client, receiver: Receiver
) -> None:
    """Events reach a matching webhook signed; failures are retried; the log shows the outcome."""
    receiver.fail_first = 2
    hook = api.post(
        "/webhooks",
        json={
            "webhookUrl": receiver.url,
            "webhookSecret": SECRET,
            "notificationTypes": ["UserEligibilityUpdated"],
        },
    )
    assert hook.status_code == 201 and "webhookSecret" not in hook.json()
    _setup_user_with_tank(api, AREA_1)
    api.post("/simulation/events/pricecurve", json={})  # not subscribed: never delivered
    receiver.wait_for(lambda: len(receiver.calls) >= 3)
    time.sleep(0.3)
    assert [status for _, _, status in receiver.calls] == [500, 500, 200]
    headers, body, _ = receiver.calls[-1]
    assert verify(body, headers["x-payload-signature"], SECRET)
    assert headers["spark-signature"] == SECRET
    notification_schema = {"$ref": "#/components/schemas/EventNotification", **load_spec()}
    OAS30Validator(notification_schema).validate(json.loads(body))
    notification = msgspec.json.decode(body, type=schemas.EventNotification)
    assert notification.notification_type is schemas.NotificationType.USER_ELIGIBILITY_UPDATED
    assert isinstance(notification.payload, schemas.UserEligibilityPayload)
    assert notification.payload.added_users == ["u1"]
    assert {b for _, b, _ in receiver.calls} == {body}
    logs = api.get("/webhooks/logs", params={"webhookId": hook.json()["webhookId"]}).json()
    (entry,) = logs["webhookNotificationLogs"]
    assert entry["responseStatusCode"] == 200
    assert entry["notificationId"] == notification.notification_id
    detail = api.get(f"/webhooks/logs/{notification.notification_id}").json()
    assert detail["notificationContent"].encode() == body
    assert api.get(f"/webhooks/{hook.json()['webhookId']}").json()["status"] == "Healthy"


def test_webhook_gives_up_after_three_retries(
    api: httpx.Client, receiver: Receiver, emulator: Emulator
) -> None:
    """A receiver that always fails gets four attempts, then the webhook is Unhealthy."""
    receiver.fail_first = 100
    hook = api.post("/webhooks", json={"webhookUrl": receiver.url, "webhookSecret": SECRET}).json()
    api.post("/simulation/events/usereligibility")
    receiver.wait_for(lambda: len(receiver.calls) >= 4)
    time.sleep(0.3)
    assert len(receiver.calls) == 4
    assert api.get(f"/webhooks/{hook['webhookId']}").json()["status"] == "Unhealthy"
    (entry,) = emulator.volue.hub.logs.values()
    assert (entry.attempts, entry.delivered) == (4, False)


def test_dropped_and_disabled_webhooks_receive_nothing(
    api: httpx.Client, receiver: Receiver, emulator: Emulator
) -> None:
    """With dropWebhooks or a disabled webhook, events stay pollable but are not delivered."""
    hook = api.post("/webhooks", json={"webhookUrl": receiver.url}).json()
    control = httpx.put(f"{emulator.base_url}/_emulator/webhooks", json={"dropWebhooks": True})
    assert control.json()["dropWebhooks"] is True
    api.post("/simulation/events/usereligibility")
    httpx.put(f"{emulator.base_url}/_emulator/webhooks", json={"dropWebhooks": False})
    assert (
        api.put(f"/webhooks/{hook['webhookId']}/enabled", params={"enabled": "false"}).status_code
        == 204
    )
    api.post("/simulation/events/usereligibility")
    time.sleep(0.3)
    assert receiver.calls == []
    assert len(api.get("/events").json()["events"]) == 2
    assert httpx.get(f"{emulator.base_url}/_emulator/webhooks").json()["droppedDeliveries"] == 1


def test_webhook_crud(api: httpx.Client, spec_checker: SpecChecker) -> None:
    """Webhooks can be listed, replaced, patched and deleted; unknown ids are 404."""
    hook = api.post("/webhooks", json={"webhookUrl": "http://127.0.0.1:9/a", "name": "a"}).json()
    path = f"/webhooks/{hook['webhookId']}"
    replaced = api.put(
        path,
        json={"webhookUrl": "http://127.0.0.1:9/b", "notificationTypes": ["PriceCurveCreated"]},
    )
    assert replaced.json()["webhookUrl"].endswith("/b") and replaced.json()["name"] is None
    assert api.patch(path, json={"name": "renamed"}).json()["notificationTypes"] == [
        "PriceCurveCreated"
    ]
    assert [h["name"] for h in api.get("/webhooks").json()["webhooks"]] == ["renamed"]
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
    assert spec_checker.checked >= 7
