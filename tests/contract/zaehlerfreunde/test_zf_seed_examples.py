"""The example payloads of the Zählerfreunde partner guide, sent as the guide shows them."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import msgspec

from tests.contract.zaehlerfreunde.conftest import SEED_PATH, Emulator

Start = Callable[..., AbstractContextManager[Emulator]]


def _payloads() -> list[str]:
    text = SEED_PATH.read_text(encoding="utf-8")
    return re.findall(r"-d '(.*?)'\n", text, flags=re.DOTALL)


def _strip_comments_and_trailing_commas(payload: str) -> str:
    """What a reader of the guide sends: the ``//`` remark and the dangling comma removed."""
    without_comments = re.sub(r"\s*//[^\n]*", "", payload)
    return re.sub(r",(\s*[}\]])", r"\1", without_comments)


def test_guide_has_the_five_examples() -> None:
    """The guide shows token, space, device, readings and invite payloads, in that order."""
    token, space, device, readings, invite = _payloads()
    assert "clientSecret" in token and "category" in space and "deviceMedium" in device
    assert "obisCode" in readings and "sendInviteEmail" in invite


def test_guide_examples_are_accepted(start_emulator: Start) -> None:
    """Each example is accepted verbatim, except the device example (see below).

    The device example carries a ``// comment`` and a trailing comma, which no JSON
    parser accepts: sent verbatim it is refused with 400 (malformed JSON). With the
    comment and the dangling comma removed, as anyone using it must, it is accepted.
    """
    token, space, device, readings, invite = _payloads()
    with start_emulator(client_id="YOUR_CLIENT_ID", client_secret="YOUR_CLIENT_SECRET") as zf:
        json_headers = {"content-type": "application/json"}
        response = zf.client.post("/partner/auth/token", content=token, headers=json_headers)
        assert response.status_code == 200
        zf.client.headers["authorization"] = f"Bearer {response.json()['accessToken']}"

        response = zf.client.post("/partner/spaces", content=space, headers=json_headers)
        assert response.status_code == 200
        space_id = response.json()["spaceId"]

        devices_url = f"/partner/spaces/{space_id}/devices"
        verbatim = zf.client.post(devices_url, content=device, headers=json_headers)
        assert verbatim.status_code == 400
        assert "malformed JSON" in verbatim.json()["message"]
        cleaned = _strip_comments_and_trailing_commas(device)
        assert msgspec.json.decode(cleaned)["isMainDevice"] is True
        assert zf.client.post(devices_url, content=cleaned, headers=json_headers).status_code == 200

        # The readings example names the device "123456789ABCD"; create it first.
        zf.create_device(space_id, externalDeviceId="123456789ABCD")
        response = zf.client.post(
            "/partner/devices/readings", content=readings, headers=json_headers
        )
        assert response.status_code == 200

        invites_url = f"/partner/spaces/{space_id}/invites"
        response = zf.client.post(invites_url, content=invite, headers=json_headers)
        assert response.status_code == 200
        assert zf.stats()["entities"] == {"spaces": 1, "devices": 2, "readings": 1, "invites": 1}


def test_spec_readings_example_is_accepted(zf: Emulator) -> None:
    """The OpenAPI example (deviceId and externalDeviceId together, status, interval) is stored."""
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="123456789ABCD")
    item = {
        "deviceId": device_id,
        "externalDeviceId": "123456789ABCD",
        "readings": [
            {
                "obisCode": "1.8.0",
                "timestamp": 1714635961,
                "value": 10.5,
                "status": "REAL",
                "meteringInterval": 900,
            }
        ],
    }
    assert zf.client.post("/partner/devices/readings", json=[item]).status_code == 200
    assert zf.stats()["entities"]["readings"] == 1
