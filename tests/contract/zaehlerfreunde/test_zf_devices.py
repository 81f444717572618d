"""Zählerfreunde emulator: devices, readings, OBIS and timestamp rules, duplicates."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contract.zaehlerfreunde.conftest import Emulator

TS = 1714635961


def _reading(obis: str = "1.8.0", ts: int = TS, value: float = 10.5) -> dict[str, Any]:
    return {"obisCode": obis, "timestamp": ts, "value": value}


def test_device_is_listed_with_the_documented_shape(zf: Emulator) -> None:
    """A created device appears in GET /spaces/{id}/devices as a Device."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="MELO1", serialNumber="1EMH0001")
    body = zf.client.get(f"/partner/spaces/{space_id}/devices").json()
    [device] = body["devices"]
    assert (device["id"], device["externalDeviceIds"], device["provider"]) == (
        device_id,
        ["MELO1"],
        "EXTERNAL",
    )
    assert device["latestReadingTime"] == ""
    assert {"label": "serialNumber", "value": "1EMH0001"} in device["metaData"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deviceType": "TOASTER"}, "deviceType"),
        ({"deviceMedium": "STEAM"}, "deviceMedium"),
        ({"isMainDevice": "yes"}, "isMainDevice"),
        ({"deviceName": None}, "deviceName"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_device_is_refused(zf: Emulator, change: dict[str, Any], field: str) -> None:
    """Device bodies are checked against NewExternalDevice: 400 naming the field."""
    space_id = zf.create_space()
    body = {
        "deviceName": "Zähler",
        "isMainDevice": True,
        "deviceType": "SMART_METER",
        "deviceMedium": "ELECTRICITY",
        **change,
    }
    response = zf.client.post(f"/partner/spaces/{space_id}/devices", json=body)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_device_in_unknown_space_is_not_found(zf: Emulator) -> None:
    """Creating a device in a space that does not exist answers 404."""
    body = {
        "deviceName": "x",
        "isMainDevice": True,
        "deviceType": "SMART_METER",
        "deviceMedium": "GAS",
    }
    assert zf.client.post(f"/partner/spaces/{uuid.uuid4()}/devices", json=body).status_code == 404


def test_only_one_main_device_per_space(zf: Emulator) -> None:
    """A new main device makes the previous main device an ordinary one."""
    space_id = zf.create_space()
    first = zf.create_device(space_id)
    second = zf.create_device(space_id)
    devices = zf.client.get(f"/partner/spaces/{space_id}/devices").json()["devices"]
    assert {d["id"]: d["isMainDevice"] for d in devices} == {first: False, second: True}


def test_repeated_external_id_in_a_space_counts_as_duplicate(zf: Emulator) -> None:
    """The same externalDeviceId twice in one space is a device duplicate; in another space not."""
    space_a, space_b = zf.create_space(), zf.create_space(name="Other")
    zf.create_device(space_a, externalDeviceId="MELO1")
    zf.create_device(space_a, externalDeviceId="MELO1")
    zf.create_device(space_b, externalDeviceId="MELO1")
    zf.create_device(space_a)
    assert zf.stats()["duplicates"] == {"device": 1}


def test_readings_by_external_device_id_and_by_device_id(zf: Emulator) -> None:
    """Readings address a device by externalDeviceId or by deviceId; both are stored."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="MELO1")
    response = zf.client.post(
        "/partner/devices/readings",
        json=[
            {"externalDeviceId": "MELO1", "readings": [_reading("1.8.0", TS)]},
            {"deviceId": device_id, "readings": [_reading("1-1:2.8.0", TS, 3.0)]},
        ],
    )
    assert response.status_code == 200
    assert response.content == b""
    assert zf.stats()["entities"]["readings"] == 2
    device = zf.client.get(f"/partner/spaces/{space_id}/devices").json()["devices"][0]
    assert device["directions"] == ["IN", "OUT"]
    assert device["firstReadingTime"] == device["latestReadingTime"] == "2024-05-02T07:46:01Z"


@pytest.mark.parametrize(
    "item",
    [
        {"externalDeviceId": "nobody", "readings": [_reading()]},
        {"deviceId": "5c2f0976-7afc-4d14-a6d5-99d3ae838780", "readings": [_reading()]},
    ],
)
def test_unknown_device_is_rejected(zf: Emulator, item: dict[str, Any]) -> None:
    """Readings for a device that does not exist answer 404 and store nothing."""
    space_id = zf.create_space()
    zf.create_device(space_id, externalDeviceId="MELO1")
    good = {"externalDeviceId": "MELO1", "readings": [_reading()]}
    response = zf.client.post("/partner/devices/readings", json=[good, item])
    assert response.status_code == 404
    assert "$[1]" in response.json()["message"]
    assert zf.stats()["entities"]["readings"] == 0


def test_readings_without_any_device_reference_are_refused(zf: Emulator) -> None:
    """An item with neither deviceId nor externalDeviceId is a 400."""
    response = zf.client.post("/partner/devices/readings", json=[{"readings": [_reading()]}])
    assert response.status_code == 400
    assert "externalDeviceId" in response.json()["message"]


def test_conflicting_device_references_are_refused(zf: Emulator) -> None:
    """deviceId and externalDeviceId naming different devices is a 400."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="MELO1")
    zf.create_device(space_id, externalDeviceId="MELO2")
    item = {"deviceId": device_id, "externalDeviceId": "MELO2", "readings": [_reading()]}
    assert zf.client.post("/partner/devices/readings", json=[item]).status_code == 400


@pytest.mark.parametrize(
    "obis",
    ["1.8.1", "1-0:1.8.0", "1.0.0", "banana", "", "1-1:1.8.0*255", "2.9.0 G.04"],
)
def test_bad_obis_code_is_rejected(zf: Emulator, obis: str) -> None:
    """OBIS codes outside the documented list are a 400 naming the reading; nothing is stored."""
    space_id = zf.create_space()
    zf.create_device(space_id, externalDeviceId="MELO1")
    readings = [_reading("1.8.0"), _reading(obis, TS + 900)]
    response = zf.client.post(
        "/partner/devices/readings", json=[{"externalDeviceId": "MELO1", "readings": readings}]
    )
    assert response.status_code == 400
    assert "$[0].readings[1].obisCode" in response.json()["message"]
    assert zf.stats()["entities"]["readings"] == 0


@pytest.mark.parametrize(
    "obis",
    [
        "1-1:1.8.0",
        "1.8.0",
        "2.29.0",
        "1-1:2.9.0 G.03",
        "2.9.0 G.03",
        "1.9.0 P.01",
        "6-1:1.0.0",
        "7-1:3.1.0",
        "8-1:1.0.0",
    ],
)
def test_documented_obis_codes_are_stored(zf: Emulator, obis: str) -> None:
    """Every documented code, long or short, suffixed or not, is accepted."""
    space_id = zf.create_space()
    zf.create_device(space_id, externalDeviceId="MELO1")
    item = {"externalDeviceId": "MELO1", "readings": [_reading(obis)]}
    assert zf.client.post("/partner/devices/readings", json=[item]).status_code == 200
    assert zf.stats()["entities"]["readings"] == 1


@pytest.mark.parametrize(
    ("reading", "field"),
    [
        (_reading(ts=TS * 1000), "timestamp"),
        (_reading(ts=-1), "timestamp"),
        ({"obisCode": "1.8.0", "timestamp": "2024-05-02T07:46:01Z", "value": 1}, "timestamp"),
        ({"obisCode": "1.8.0", "timestamp": TS}, "value"),
        ({**_reading(), "status": "GUESSED"}, "status"),
        ({**_reading(), "unit": "kWh"}, "unit"),
    ],
)
def test_invalid_reading_is_refused(zf: Emulator, reading: dict[str, Any], field: str) -> None:
    """Millisecond or negative timestamps, missing values, bad status: 400 naming the field."""
    space_id = zf.create_space()
    zf.create_device(space_id, externalDeviceId="MELO1")
    item = {"externalDeviceId": "MELO1", "readings": [reading]}
    response = zf.client.post("/partner/devices/readings", json=[item])
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_millisecond_timestamps_get_a_clear_message(zf: Emulator) -> None:
    """A millisecond timestamp is refused with a hint to send epoch seconds."""
    space_id = zf.create_space()
    zf.create_device(space_id, externalDeviceId="MELO1")
    item = {"externalDeviceId": "MELO1", "readings": [_reading(ts=TS * 1000)]}
    message = zf.client.post("/partner/devices/readings", json=[item]).json()["message"]
    assert "epoch seconds" in message


def test_repeated_readings_count_as_duplicates_and_keep_the_first_value(zf: Emulator) -> None:
    """A reading for an existing (device, OBIS code, timestamp) keeps its value and is counted."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="MELO1")
    first = [_reading("1.8.0", TS, 10.0), _reading("1.8.0", TS + 900, 11.0)]
    again = [_reading("1-1:1.8.0", TS, 99.0), _reading("1.8.0", TS + 1800, 12.0)]
    for readings in (first, again, again):
        item = {"externalDeviceId": "MELO1", "readings": readings}
        assert zf.client.post("/partner/devices/readings", json=[item]).status_code == 200
    stats = zf.stats()
    assert stats["duplicates"] == {"reading": 3}
    assert stats["entities"]["readings"] == 3
    values = zf.client.get(
        f"/partner/devices/{device_id}/readings",
        params={
            "startTime": "2024-05-02T07:45:00Z",
            "endTime": "2024-05-02T08:30:00Z",
            "resolution": "15_MIN",
            "measurement": "METER_READING",
        },
    ).json()
    assert [r["value"] for r in values] == [10.0, 11.0, 12.0]


def test_readings_read_back_per_resolution_and_measurement(zf: Emulator) -> None:
    """GET /devices/{id}/readings aggregates: latest register, summed energy, mean power."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="MELO1")
    hour = 1714636800  # 2024-05-02T08:00:00Z
    readings = [_reading("1.8.0", hour + i * 900, 100.0 + i) for i in range(4)]
    readings += [_reading("1.29.0", hour + i * 900, 0.25) for i in range(4)]
    zf.client.post(
        "/partner/devices/readings", json=[{"deviceId": device_id, "readings": readings}]
    )
    window = {"startTime": "2024-05-02T08:00:00Z", "endTime": "2024-05-02T09:00:00Z"}

    def get(measurement: str) -> list[dict[str, Any]]:
        params = {**window, "resolution": "1_HOUR", "measurement": measurement}
        response = zf.client.get(f"/partner/devices/{device_id}/readings", params=params)
        assert response.status_code == 200
        result: list[dict[str, Any]] = response.json()
        return result

    [register] = get("METER_READING")
    [energy] = get("ENERGY")
    [power] = get("POWER")
    assert (register["value"], register["label"], register["timeStamp"]) == (
        103.0,
        "1-1:1.8.0",
        "2024-05-02T08:00:00Z",
    )
    assert (energy["value"], energy["unit"], energy["direction"]) == (1.0, "kWh", "IN")
    assert (power["value"], power["unit"]) == (1.0, "kW")


@pytest.mark.parametrize(
    "params",
    [
        {"endTime": "2024-05-03T00:00:00Z", "resolution": "1_DAY", "measurement": "ENERGY"},
        {
            "startTime": "2024-05-02T00:00:00Z",
            "endTime": "2024-05-03T00:00:00Z",
            "resolution": "1_WEEK",
            "measurement": "ENERGY",
        },
        {
            "startTime": "2024-05-02T00:00:00Z",
            "endTime": "2024-05-03T00:00:00Z",
            "resolution": "1_DAY",
            "measurement": "VOLTAGE",
        },
        {
            "startTime": "yesterday",
            "endTime": "2024-05-03T00:00:00Z",
            "resolution": "1_DAY",
            "measurement": "ENERGY",
        },
    ],
)
def test_bad_readings_query_is_refused(zf: Emulator, params: dict[str, str]) -> None:
    """Missing or invalid query parameters of GET readings answer 400."""
    device_id = zf.create_device(zf.create_space())
    response = zf.client.get(f"/partner/devices/{device_id}/readings", params=params)
    assert response.status_code == 400


def test_delete_device_removes_it_and_its_readings(zf: Emulator) -> None:
    """DELETE /devices/{id} removes the device and its readings; a second delete is 404."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="MELO1")
    zf.client.post(
        "/partner/devices/readings", json=[{"deviceId": device_id, "readings": [_reading()]}]
    )
    assert zf.client.delete(f"/partner/devices/{device_id}").status_code == 200
    assert zf.stats()["entities"] == {"spaces": 1, "devices": 0, "readings": 0, "invites": 0}
    assert zf.client.delete(f"/partner/devices/{device_id}").status_code == 404
    assert zf.client.get(f"/partner/spaces/{space_id}/devices").json()["devices"] == []
