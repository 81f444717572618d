"""Zählerfreunde emulator: spaces, paging, updates, deletion, duplicates and invites."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contract.zaehlerfreunde.conftest import Emulator


def test_created_space_is_listed_with_the_documented_shape(zf: Emulator) -> None:
    """POST /spaces returns {spaceId}; GET /spaces lists it as a Space."""
    space_id = zf.create_space(addressLineTwo="Hinterhaus")
    body = zf.client.get("/partner/spaces").json()
    assert body["totalNumPages"] == 1
    [space] = body["spaces"]
    assert space["id"] == space_id
    assert (space["name"], space["addressLineTwo"], space["category"]) == (
        "Musterhaus",
        "Hinterhaus",
        "SINGLE_FAMILY_HOME",
    )
    assert "parentSpaceId" not in space
    assert all(call.response_documented for call in zf.checker.calls if call.status == 200)


def test_spaces_are_paged_from_zero(zf: Emulator) -> None:
    """page counts from 0 and pageSize bounds each page; totalNumPages covers all."""
    ids = [zf.create_space(name=f"Space {i}") for i in range(5)]
    first = zf.client.get("/partner/spaces", params={"page": 0, "pageSize": 2}).json()
    last = zf.client.get("/partner/spaces", params={"page": 2, "pageSize": 2}).json()
    beyond = zf.client.get("/partner/spaces", params={"page": 3, "pageSize": 2}).json()
    assert [s["id"] for s in first["spaces"]] == ids[:2]
    assert [s["id"] for s in last["spaces"]] == ids[4:]
    assert beyond["spaces"] == []
    assert first["totalNumPages"] == last["totalNumPages"] == 3


@pytest.mark.parametrize("params", [{"page": -1}, {"pageSize": 0}, {"page": "first"}])
def test_bad_paging_is_refused(zf: Emulator, params: dict[str, Any]) -> None:
    """Paging values outside the spec's bounds answer 400 naming the parameter."""
    response = zf.client.get("/partner/spaces", params=params)
    assert response.status_code == 400
    assert next(iter(params)) in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "CASTLE"}, "category"),
        ({"name": None}, "name"),
        ({"postcode": 10115}, "postcode"),
        ({"colour": "blue"}, "colour"),
        ({"addressLineTwo": None}, "addressLineTwo"),
    ],
)
def test_invalid_space_is_refused_naming_the_field(
    zf: Emulator, change: dict[str, Any], field: str
) -> None:
    """Wrong enum values, types, nulls and unknown fields are a 400 naming the field."""
    body = {
        "name": "Musterhaus",
        "addressLineOne": "Hauptstraße 1",
        "postcode": "10115",
        "city": "Berlin",
        "category": "FLAT",
    }
    body.update(change)
    response = zf.client.post("/partner/spaces", json=body)
    assert response.status_code == 400
    assert field in response.json()["message"]
    assert zf.stats()["entities"]["spaces"] == 0


@pytest.mark.parametrize("missing", ["name", "addressLineOne", "postcode", "city", "category"])
def test_space_missing_a_required_field_is_refused(zf: Emulator, missing: str) -> None:
    """Each field NewSpace requires is enforced."""
    body = {
        "name": "Musterhaus",
        "addressLineOne": "Hauptstraße 1",
        "postcode": "10115",
        "city": "Berlin",
        "category": "FLAT",
    }
    del body[missing]
    response = zf.client.post("/partner/spaces", json=body)
    assert response.status_code == 400
    assert missing in response.json()["message"]


def test_update_changes_only_provided_fields(zf: Emulator) -> None:
    """PUT /spaces/{id} changes the given fields, keeps the rest, and null clears."""
    parent = zf.create_space(name="Quartier", category="REGION")
    space_id = zf.create_space(addressLineTwo="Hinterhaus")
    response = zf.client.put(
        f"/partner/spaces/{space_id}",
        json={"city": "Hamburg", "parentSpaceId": parent, "addressLineTwo": None},
    )
    assert response.status_code == 200
    assert response.json() == {"spaceId": space_id}
    space = next(
        s for s in zf.client.get("/partner/spaces").json()["spaces"] if s["id"] == space_id
    )
    assert (space["name"], space["city"], space["parentSpaceId"]) == (
        "Musterhaus",
        "Hamburg",
        parent,
    )
    assert "addressLineTwo" not in space


def test_update_with_a_bad_category_is_refused(zf: Emulator) -> None:
    """UpdateSpace.category follows the same enum as NewSpace."""
    space_id = zf.create_space()
    response = zf.client.put(f"/partner/spaces/{space_id}", json={"category": "CASTLE"})
    assert response.status_code == 400
    assert "category" in response.json()["message"]


def test_unknown_and_malformed_space_ids(zf: Emulator) -> None:
    """Unknown space ids answer 404; ids that are not UUIDs where the spec says uuid, 400."""
    unknown = str(uuid.uuid4())
    assert zf.client.put(f"/partner/spaces/{unknown}", json={"city": "x"}).status_code == 404
    assert zf.client.delete(f"/partner/spaces/{unknown}").status_code == 404
    assert zf.client.get(f"/partner/spaces/{unknown}/devices").status_code == 404
    response = zf.client.delete("/partner/spaces/not-a-uuid")
    assert response.status_code == 400
    assert "spaceId" in response.json()["message"]


def test_delete_space_removes_its_devices_and_readings(zf: Emulator) -> None:
    """DELETE /spaces/{id} removes the space, its devices and their readings."""
    keep = zf.create_space(name="Bleibt")
    keep_device = zf.create_device(keep, externalDeviceId="keep")
    space_id = zf.create_space()
    device_id = zf.create_device(space_id, externalDeviceId="gone")
    readings = [{"obisCode": "1.8.0", "timestamp": 1714635961, "value": 1.0}]
    zf.client.post(
        "/partner/devices/readings",
        json=[
            {"deviceId": device_id, "readings": readings},
            {"deviceId": keep_device, "readings": readings},
        ],
    )
    assert zf.client.delete(f"/partner/spaces/{space_id}").status_code == 200
    assert zf.stats()["entities"] == {"spaces": 1, "devices": 1, "readings": 1, "invites": 0}
    assert zf.client.delete(f"/partner/devices/{device_id}").status_code == 404
    response = zf.client.post(
        "/partner/devices/readings", json=[{"externalDeviceId": "gone", "readings": readings}]
    )
    assert response.status_code == 404


def test_identical_space_counts_as_duplicate(zf: Emulator) -> None:
    """A space with the same content as an existing one is stored and counted as a duplicate."""
    first = zf.create_space()
    second = zf.create_space()
    zf.create_space(city="Potsdam")
    zf.create_space(parentSpaceId=first)
    assert first != second
    stats = zf.stats()
    assert stats["duplicates"] == {"space": 1}
    assert stats["entities"]["spaces"] == 4


def test_update_into_an_existing_content_makes_a_later_create_a_duplicate(zf: Emulator) -> None:
    """Duplicate detection follows updates: content is compared as it is now."""
    space_id = zf.create_space(city="Potsdam")
    zf.client.put(f"/partner/spaces/{space_id}", json={"city": "Berlin"})
    zf.create_space()
    assert zf.stats()["duplicates"] == {"space": 1}


def test_invite_returns_a_link(zf: Emulator) -> None:
    """POST /spaces/{id}/invites returns {inviteLink}, one per call."""
    space_id = zf.create_space()
    body = {"sendInviteEmail": False, "userEmail": "kunde@example.org"}
    first = zf.client.post(f"/partner/spaces/{space_id}/invites", json=body)
    second = zf.client.post(f"/partner/spaces/{space_id}/invites", json=body)
    assert first.status_code == second.status_code == 200
    assert first.json()["inviteLink"].startswith("https://")
    assert first.json()["inviteLink"] != second.json()["inviteLink"]
    assert zf.stats()["entities"]["invites"] == 2


def test_inviting_an_address_to_a_space_again_counts_as_duplicate(zf: Emulator) -> None:
    """The same address (any letter case) invited to the same space again is one duplicate each."""
    space_id, other_space = zf.create_space(), zf.create_space(city="Potsdam")
    for space, email in [(space_id, "kunde@example.org"), (space_id, "Kunde@Example.org"),
                         (space_id, "nachbar@example.org"), (other_space, "kunde@example.org"),
                         (space_id, "kunde@example.org")]:
        body = {"sendInviteEmail": False, "userEmail": email}
        assert zf.client.post(f"/partner/spaces/{space}/invites", json=body).status_code == 200
    stats = zf.stats()
    assert stats["duplicates"] == {"invite": 2}
    assert stats["entities"]["invites"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"userEmail": "kunde@example.org"}, "sendInviteEmail"),
        ({"sendInviteEmail": True}, "userEmail"),
        ({"sendInviteEmail": "yes", "userEmail": "kunde@example.org"}, "sendInviteEmail"),
    ],
)
def test_invalid_invite_is_refused(zf: Emulator, body: dict[str, Any], field: str) -> None:
    """An invite without its required fields, or with wrong types, is a 400 naming the field."""
    space_id = zf.create_space()
    response = zf.client.post(f"/partner/spaces/{space_id}/invites", json=body)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_invite_to_unknown_space_is_not_found(zf: Emulator) -> None:
    """Inviting to a space that does not exist answers 404."""
    body = {"sendInviteEmail": True, "userEmail": "kunde@example.org"}
    response = zf.client.post(f"/partner/spaces/{uuid.uuid4()}/invites", json=body)
    assert response.status_code == 404


def test_deleting_a_space_drops_its_invites(zf: Emulator) -> None:
    """Invites belong to their space and go with it."""
    space_id = zf.create_space()
    body = {"sendInviteEmail": True, "userEmail": "kunde@example.org"}
    zf.client.post(f"/partner/spaces/{space_id}/invites", json=body)
    zf.client.delete(f"/partner/spaces/{space_id}")
    assert zf.stats()["entities"]["invites"] == 0
