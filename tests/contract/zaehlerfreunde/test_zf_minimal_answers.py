"""The Zählerfreunde emulator's minimal answer mode: required members only (plus the ids a create
answers with), text labels on readings; ``{"minimal": false}`` restores the full answers."""

from __future__ import annotations

from tests.contract.zaehlerfreunde.conftest import Emulator

TS = 1714635961
WINDOW = {"startTime": "2024-05-02T07:45:00Z", "endTime": "2024-05-02T08:30:00Z",
          "resolution": "15_MIN", "measurement": "METER_READING"}


def _mode(zf: Emulator, minimal: bool) -> None:
    assert zf.client.put("/_emulator/answers", json={"minimal": minimal}).json() == {"minimal": minimal}


def test_minimal_answers_and_text_labels(zf: Emulator) -> None:
    """Devices carry only required members, readings a text label; the full mode gives the OBIS code back."""
    _mode(zf, True)
    space_id = zf.create_space(addressLineTwo="Hinterhaus")
    device_id = zf.create_device(space_id, externalDeviceId="MELO1")
    [space] = zf.client.get("/partner/spaces").json()["spaces"]
    assert "addressLineTwo" not in space and space["id"] == space_id
    [device] = zf.client.get(f"/partner/spaces/{space_id}/devices").json()["devices"]
    assert not {"externalDeviceId", "isMainDeviceAllowed"} & set(device)
    assert device["externalDeviceIds"] == ["MELO1"]  # a non-empty list stays
    item = {"deviceId": device_id, "readings": [{"obisCode": "1.8.0", "timestamp": TS, "value": 10.5}]}
    assert zf.client.post("/partner/devices/readings", json=[item]).status_code == 200
    [reading] = zf.client.get(f"/partner/devices/{device_id}/readings", params=WINDOW).json()
    assert (reading["label"], reading["value"]) == ("Zählerstand Bezug", 10.5)
    assert zf.token()  # token answers are never reduced

    _mode(zf, False)
    [reading] = zf.client.get(f"/partner/devices/{device_id}/readings", params=WINDOW).json()
    assert reading["label"] == "1-1:1.8.0"
    [device] = zf.client.get(f"/partner/spaces/{space_id}/devices").json()["devices"]
    assert device["externalDeviceId"] == "MELO1"
    assert all(call.response_documented for call in zf.checker.calls)
