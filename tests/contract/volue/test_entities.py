"""Users, locations, resources and vehicles: shapes, status codes, validation, idempotency."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.contract.volue.conftest import Emulator, SpecChecker

AREA_1 = {"latitude": 79.51913682860402, "longitude": 15.97611317258921}
TRONDHEIM = {"latitude": 63.1, "longitude": 10.7}


def _user(api: httpx.Client, user_id: str = "u1") -> None:
    assert api.post("/users", json={"userId": user_id}).status_code in (200, 201)


def _location(
    api: httpx.Client, user_id: str = "u1", location_id: str = "l1", **extra: object
) -> httpx.Response:
    body: dict[str, object] = {"locationId": location_id, "locationType": "Residential"}
    body.update(extra or {"meterPointIds": ["707057500012345678"]})
    return api.post(f"/users/{user_id}/locations", json=body)


def test_user_create_is_idempotent_and_counts_duplicates(
    api: httpx.Client, emulator: Emulator
) -> None:
    """POST /users answers 201 then 200 for the same id, counting one duplicate."""
    first = api.post("/users", json={"userId": "u1"})
    again = api.post("/users", json={"userId": "u1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() == {"userId": "u1"}
    assert api.get("/users/u1").json() == {"userId": "u1"}
    assert api.get("/users/nobody").status_code == 404
    assert emulator.emulation.stats.duplicates["user"] == 1


def test_users_are_paginated(api: httpx.Client) -> None:
    """GET /users pages with page/pageSize and describes the page in ApiPagination."""
    api.post("/users/batch", json={"users": [{"userId": f"u{i}"} for i in range(5)]})
    page = api.get("/users", params={"page": 2, "pageSize": 2}).json()
    assert [u["userId"] for u in page["users"]] == ["u2", "u3"]
    assert page["pagination"] == {
        "totalRecords": 5,
        "pageSize": 2,
        "currentPage": 2,
        "totalPages": 3,
        "nextPage": 3,
        "previousPage": 1,
    }
    assert api.get("/users", params={"page": 0}).status_code == 400


def test_user_batch_of_thousand_is_fast_and_idempotent(
    api: httpx.Client, emulator: Emulator
) -> None:
    """A batch of 1,000 users is created at once; resending it answers 200 with 1,000 duplicates."""
    users = [{"userId": f"user-{i:04d}"} for i in range(1000)]
    began = time.perf_counter()
    created = api.post("/users/batch", json={"users": users})
    elapsed = time.perf_counter() - began
    assert created.status_code == 201
    assert len(created.json()["users"]) == 1000
    assert elapsed < 1.0
    assert api.post("/users/batch", json={"users": users}).status_code == 200
    assert emulator.emulation.stats.duplicates["user"] == 1000
    assert len(emulator.volue.store.users) == 1000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users", {"userId": "u1", "name": "extra"}),
        ("/users", {}),
        ("/users", {"userId": 5}),
        ("/users/batch", {"users": [{"userId": "a"}, {"id": "b"}]}),
        (
            "/users/u1/locations",
            {"locationId": "l1", "locationType": "Castle", "meterPointIds": ["1"]},
        ),
        ("/users/u1/locations", {"locationType": "Residential", "meterPointIds": ["1"]}),
        ("/users/u1/locations", {"locationId": "l1", "meterPointIds": ["1"], "address": "x"}),
        ("/users/u1/vehicles", {"resourceId": "v1", "resourceType": "Boat"}),
        ("/users/u1/vehicles", {"resourceId": "v1"}),
        ("/webhooks", {"webhookUrl": "http://127.0.0.1/x", "notificationTypes": ["PriceDelta"]}),
        ("/webhooks", {"url": "http://127.0.0.1/x"}),
        ("/reports", {"payloads": [{"payloadType": "EnergyUsage", "resourceId": "r"}]}),
    ],
)
def test_requests_the_spec_forbids_are_refused_with_400(
    api: httpx.Client, spec_checker: SpecChecker, path: str, body: dict[str, object]
) -> None:
    """Unknown fields, missing required fields, wrong types, bad enums: spec and emulator refuse."""
    _user(api)
    response = api.post(path, json=body)
    assert spec_checker.last_request_refused_for_its_body
    assert response.status_code == 400


def test_error_bodies_follow_each_routes_declaration(api: httpx.Client) -> None:
    """Routes declaring problem+json answer a problem; others answer a JSON string."""
    _user(api)
    problem = api.post("/users/u1/vehicles", json={"resourceId": "v", "resourceType": "Boat"})
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["status"] == 400 and "Boat" in problem.json()["detail"]
    plain = api.post("/users", json={"userId": "u1", "x": 1})
    assert plain.headers["content-type"] == "application/json"
    assert "unknown field" in plain.json()


def test_location_needs_meter_point_ids_or_coordinates(api: httpx.Client) -> None:
    """A location with neither meterPointIds nor coordinates is refused."""
    _user(api)
    assert _location(api, meterPointIds=[]).status_code == 400
    assert _location(api, coordinates=TRONDHEIM).status_code == 201
    assert _location(api, location_id="l2", meterPointIds=["707057500012345678"]).status_code == 201


def test_location_parents_conflicts_and_duplicates(api: httpx.Client, emulator: Emulator) -> None:
    """Unknown users are 404, identical re-creates 200 (duplicate), changed ones 409."""
    assert _location(api, user_id="ghost").status_code == 404
    _user(api)
    _user(api, "u2")
    created = _location(api)
    assert created.status_code == 201
    assert created.json()["meterPointIds"] == ["707057500012345678"]
    assert _location(api).status_code == 200
    assert emulator.emulation.stats.duplicates["location"] == 1
    assert _location(api, meterPointIds=["other"]).status_code == 409
    assert _location(api, user_id="u2").status_code == 409
    assert api.get("/users/u2/locations/l1").status_code == 404
    assert [loc["locationId"] for loc in api.get("/users/u1/locations").json()] == ["l1"]


def test_location_update_patch_and_delete(api: httpx.Client) -> None:
    """PUT replaces, PATCH changes only what it names, DELETE removes the location."""
    _user(api)
    _location(api)
    put = api.put("/users/u1/locations/l1", json={"locationId": "l1", "coordinates": TRONDHEIM})
    assert put.status_code == 200
    assert "meterPointIds" not in put.json() and put.json()["coordinates"] == TRONDHEIM
    assert (
        api.put(
            "/users/u1/locations/l1", json={"locationId": "other", "coordinates": TRONDHEIM}
        ).status_code
        == 400
    )
    patched = api.patch("/users/u1/locations/l1", json={"locationType": "Commercial"})
    assert patched.json()["locationType"] == "Commercial"
    assert patched.json()["coordinates"] == TRONDHEIM
    assert api.patch("/users/u1/locations/nope", json={"locationType": "Other"}).status_code == 404
    assert api.delete("/users/u1/locations/l1").status_code == 204
    assert api.get("/users/u1/locations/l1").status_code == 404


def test_location_batch_is_atomic(api: httpx.Client, emulator: Emulator) -> None:
    """The locations batch creates all or nothing and counts identical re-creates."""
    api.post("/users/batch", json={"users": [{"userId": "u1"}, {"userId": "u2"}]})
    batch = [
        {"userId": "u1", "locationId": "a", "meterPointIds": ["1"]},
        {"userId": "u2", "locationId": "b", "coordinates": TRONDHEIM},
    ]
    created = api.post("/users/locations/batch", json={"locations": batch})
    assert created.status_code == 201
    assert [loc["userId"] for loc in created.json()["locations"]] == ["u1", "u2"]
    assert api.post("/users/locations/batch", json={"locations": batch}).status_code == 200
    assert emulator.emulation.stats.duplicates["location"] == 2
    bad = [
        {"userId": "u1", "locationId": "c", "meterPointIds": ["3"]},
        {"userId": "ghost", "locationId": "d", "meterPointIds": ["4"]},
    ]
    assert api.post("/users/locations/batch", json={"locations": bad}).status_code == 400
    assert "c" not in emulator.volue.store.locations


def test_resources_vehicles_and_cascading_deletes(api: httpx.Client, emulator: Emulator) -> None:
    """Resources need their parents, re-creates are duplicates, deletes cascade to children."""
    _user(api)
    _location(api)
    path = "/users/u1/locations/l1/resources"
    assert (
        api.post(
            "/users/u1/locations/nope/resources", json={"resourceId": "r1", "resourceType": "HVAC"}
        ).status_code
        == 404
    )
    tank = api.post(path, json={"resourceId": "r1", "resourceType": "HotWaterTank"})
    assert tank.status_code == 201 and tank.json()["locationId"] == "l1"
    assert (
        api.post(path, json={"resourceId": "r1", "resourceType": "HotWaterTank"}).status_code == 200
    )
    assert api.post(path, json={"resourceId": "r1", "resourceType": "Charger"}).status_code == 400
    car = api.post("/users/u1/vehicles", json={"resourceId": "v1", "resourceType": "Vehicle"})
    assert car.status_code == 201
    assert car.json().get("locationId") is None
    assert (
        api.post(
            "/users/ghost/vehicles", json={"resourceId": "v2", "resourceType": "Vehicle"}
        ).status_code
        == 400
    )
    assert emulator.emulation.stats.duplicates["resource"] == 1
    ids = {r["resourceId"] for r in api.get("/users/u1/resources").json()["resources"]}
    assert ids == {"r1", "v1"}
    assert [r["resourceId"] for r in api.get(path).json()] == ["r1"]
    assert api.get("/resources/r1").json()["resourceType"] == "HotWaterTank"
    assert api.delete("/users/u1/locations/l1").status_code == 204
    assert api.get("/resources/r1").status_code == 404
    assert api.delete("/users/u1").status_code == 204
    assert api.get("/resources/v1").status_code == 404
    assert api.delete("/resources/v1").status_code == 404
    assert emulator.volue.store.entity_counts()["resources"] == 0


def test_stats_surface_reports_entities_and_duplicates(
    api: httpx.Client, emulator: Emulator
) -> None:
    """GET /_emulator/stats counts requests per route, duplicates and entities."""
    _user(api)
    _user(api)
    stats = httpx.get(f"{emulator.base_url}/_emulator/stats").json()
    assert stats["duplicates"] == {"user": 1}
    assert stats["entities"]["users"] == 1
    assert stats["requests"]["POST /energy-coordination/v1/users"] == {"201": 1, "200": 1}
    assert stats["tokenFetches"] == 1
