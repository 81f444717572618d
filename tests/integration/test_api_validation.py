"""Input validation: every bad request is a 4xx problem document naming the field at fault."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from tests import support

ADMIN = "validation-admin-key"
PROBLEM = "application/problem+json"


def site_body(ref: str = "site-v") -> dict[str, Any]:
    return support.site_body(ref, support.meter_body(f"{ref}-meter"), meterPointIds=[support.METER_POINT])


def customer_body(ref: str = "cust-v") -> dict[str, Any]:
    return support.customer_body(ref, site_body(f"{ref}-site"))


def edit(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """A valid customer body with one change applied."""
    body = customer_body()
    change(body)
    return body


def assert_problem(response: Any, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    assert problem["detail"]
    assert problem.get("field") == field, problem
    return problem


def site0(body: dict[str, Any]) -> dict[str, Any]:
    site: dict[str, Any] = body["sites"][0]
    return site


CUSTOMER_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown-field", edit(lambda b: b.update(nickname="Ada")), "nickname"),
    ("unknown-nested-field", edit(lambda b: site0(b)["address"].update(street="x")),
     "sites[0].address.street"),
    ("wrong-type-name", edit(lambda b: b.update(name=5)), "name"),
    ("wrong-type-sites", edit(lambda b: b.update(sites="Home")), "sites"),
    ("wrong-type-is-main", edit(lambda b: site0(b)["devices"][0].update(isMain="yes")),
     "sites[0].devices[0].isMain"),
    ("latitude-high", edit(lambda b: site0(b)["coordinates"].update(latitude=90.5)),
     "sites[0].coordinates.latitude"),
    ("latitude-low", edit(lambda b: site0(b)["coordinates"].update(latitude=-90.01)),
     "sites[0].coordinates.latitude"),
    ("longitude-high", edit(lambda b: site0(b)["coordinates"].update(longitude=180.01)),
     "sites[0].coordinates.longitude"),
    ("longitude-low", edit(lambda b: site0(b)["coordinates"].update(longitude=-181)),
     "sites[0].coordinates.longitude"),
    ("meter-point-ids", edit(lambda b: site0(b).update(meterPointIds=["12345"])),
     "sites[0].meterPointIds[0]"),
    ("meter-point-ids-second", edit(
        lambda b: site0(b).update(meterPointIds=["707057500012345678", "70705750001234567X"])),
     "sites[0].meterPointIds[1]"),
    ("device-meter-point-id", edit(
        lambda b: site0(b)["devices"][0].update(meterPointId="DE123")),
     "sites[0].devices[0].meterPointId"),
    ("site-kind", edit(lambda b: site0(b).update(kind="castle")), "sites[0].kind"),
    ("device-kind", edit(lambda b: site0(b)["devices"][0].update(kind="toaster")),
     "sites[0].devices[0].kind"),
    ("provider", edit(lambda b: b.update(providers=["sap"])), "providers[0]"),
    ("missing-name", edit(lambda b: b.pop("name")), "name"),
    ("missing-site-address", edit(lambda b: site0(b).pop("address")), "sites[0].address"),
    ("missing-device-ref", edit(lambda b: site0(b)["devices"][0].pop("externalRef")),
     "sites[0].devices[0].externalRef"),
    ("email", edit(lambda b: b.update(email="ada.example.com")), "email"),
    ("email-spaces", edit(lambda b: b.update(email="ada @example.com")), "email"),
    ("blank-name", edit(lambda b: b.update(name="")), "name"),
    ("country", edit(lambda b: site0(b)["address"].update(country="Norway")),
     "sites[0].address.country"),
    ("meter-without-medium", edit(lambda b: site0(b)["devices"][0].pop("medium")),
     "sites[0].devices[0].medium"),
    ("medium-on-non-meter", edit(lambda b: site0(b)["devices"].append(
        {"externalRef": "tank-1", "kind": "hot_water_tank", "name": "Tank", "medium": "water"})),
     "sites[0].devices[1].medium"),
    ("vehicle-on-site", edit(lambda b: site0(b)["devices"].append(
        {"externalRef": "car-1", "kind": "vehicle", "name": "Car"})),
     "sites[0].devices[1].kind"),
    ("nested-parent-site", edit(lambda b: site0(b).update(parentSiteId=str(uuid.uuid4()))),
     "sites[0].parentSiteId"),
]


@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in CUSTOMER_CASES],
                         ids=[name for name, _, _ in CUSTOMER_CASES])
async def test_bad_customer_is_400_naming_the_field(
    client: AsyncTestClient, body: dict[str, Any], field: str
) -> None:
    """Each invalid customer body is refused with 400 and the offending field's path."""
    assert_problem(await client.post("/v1/customers", json=body), 400, field)
    assert (await client.get("/v1/customers")).json()["items"] == []


async def test_sub_resources_name_their_fields(client: AsyncTestClient) -> None:
    """Site, device, vehicle and PATCH bodies name the field relative to their own body."""
    created = await client.post("/v1/customers", json=customer_body())
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    site_id = (await client.get(f"/v1/customers/{customer_id}/sites")).json()["items"][0]["id"]

    bad_site = site_body("site-2")
    bad_site["coordinates"]["latitude"] = 123
    assert_problem(await client.post(f"/v1/customers/{customer_id}/sites", json=bad_site),
                   400, "coordinates.latitude")
    bad_site = site_body("site-2")
    bad_site["meterPointIds"] = ["abc"]
    assert_problem(await client.post(f"/v1/customers/{customer_id}/sites", json=bad_site),
                   400, "meterPointIds[0]")
    meter = {"externalRef": "meter-2", "kind": "meter", "name": "Sub meter", "medium": "gas",
             "meterPointId": "not-a-meter-point"}
    assert_problem(await client.post(f"/v1/sites/{site_id}/devices", json=meter),
                   400, "meterPointId")
    vehicle = {"externalRef": "car-1", "name": "Car", "brand": "Volvo", "model": "EX30",
               "year": 2024, "vin": "IOQ"}
    assert_problem(await client.post(f"/v1/customers/{customer_id}/vehicles", json=vehicle),
                   400, "vin")
    assert_problem(await client.patch(f"/v1/sites/{site_id}", json={"meterPointIds": ["1"]}),
                   400, "meterPointIds[0]")
    assert_problem(await client.patch(f"/v1/sites/{site_id}", json={"coordinates":
                                      {"latitude": 0, "longitude": 200}}),
                   400, "coordinates.longitude")
    assert_problem(await client.patch(f"/v1/customers/{customer_id}", json={"email": "x"}),
                   400, "email")
    assert_problem(await client.patch(f"/v1/customers/{customer_id}", json={"name": None}),
                   400, "name")
    assert_problem(await client.patch(f"/v1/sites/{site_id}", json={"parentSiteId": site_id}),
                   400, "parentSiteId")


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"externalRef": "a",}', b"", b"\xff\xfe", b'"just a string"', b"[]"],
    ids=["garbage", "trailing-comma", "empty", "not-utf8", "string", "array"],
)
async def test_unparseable_body_is_400(client: AsyncTestClient, raw: bytes) -> None:
    """A body that is not a JSON object is a 400 problem, never a 500."""
    response = await client.post("/v1/customers", content=raw,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_nul_character_is_refused(client: AsyncTestClient) -> None:
    """A string holding U+0000 (which PostgreSQL cannot store) is a 400 naming the field."""
    body = customer_body()
    site0(body)["address"]["city"] = "Os\u0000lo"
    assert_problem(await client.post("/v1/customers", json=body), 400, "sites[0].address.city")
    assert_problem(await client.post("/v1/customers", json={**customer_body(), "name": "\u0000"}),
                   400, "name")


@pytest.fixture
async def small_client(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API with a 2 KiB body limit."""
    app = create_app(load_settings({}, database_url=database_url, admin_api_key=ADMIN,
                                   max_body_bytes=2048), embedded_worker=False)
    async with AsyncTestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"
        yield client


async def test_body_over_limit_is_413(small_client: AsyncTestClient) -> None:
    """A body above ``max_body_bytes`` is refused with 413; one below it is accepted."""
    body = customer_body()
    assert len(json.dumps(body)) < 2048
    assert (await small_client.post("/v1/customers", json=body)).status_code == 201
    big = customer_body("cust-big")
    big["name"] = "x" * 200
    big["sites"] = [site_body(f"s{i}") for i in range(8)]
    assert len(json.dumps(big)) > 2048
    response = await small_client.post("/v1/customers", json=big)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 413
    batch = {"customers": [customer_body(f"b{i}") for i in range(5)]}
    assert (await small_client.post("/v1/customers/batch", json=batch)).status_code == 413
    assert len((await small_client.get("/v1/customers")).json()["items"]) == 1


async def test_missing_ids_are_404(client: AsyncTestClient) -> None:
    """Reads, writes and sub-resources of ids that do not exist answer 404."""
    missing = str(uuid.uuid4())
    calls = [
        ("GET", f"/v1/customers/{missing}", None),
        ("PATCH", f"/v1/customers/{missing}", {"name": "x"}),
        ("DELETE", f"/v1/customers/{missing}", None),
        ("GET", f"/v1/customers/{missing}/sites", None),
        ("POST", f"/v1/customers/{missing}/sites", site_body()),
        ("POST", f"/v1/customers/{missing}/vehicles",
         {"externalRef": "car", "name": "Car", "brand": "Volvo", "model": "EX30", "year": 2024,
          "vin": "YV1XZK7V9R2000001"}),
        ("GET", f"/v1/sites/{missing}", None),
        ("PATCH", f"/v1/sites/{missing}", {"name": "x"}),
        ("DELETE", f"/v1/sites/{missing}", None),
        ("GET", f"/v1/sites/{missing}/devices", None),
        ("POST", f"/v1/sites/{missing}/devices",
         {"externalRef": "m", "kind": "meter", "name": "M", "medium": "heat"}),
        ("GET", f"/v1/devices/{missing}", None),
        ("PATCH", f"/v1/devices/{missing}", {"name": "x"}),
        ("DELETE", f"/v1/devices/{missing}", None),
        ("GET", f"/v1/customers/{missing}/sync-history", None),
        ("POST", f"/v1/sync/tasks/{missing}/retry", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    assert (await client.post("/v1/sync/resync", json={"entityType": "site", "entityId": missing})
            ).status_code == 404


async def test_external_ref_conflicts_are_409(client: AsyncTestClient) -> None:
    """An externalRef already in use (or used twice in one request) is a 409 naming the field."""
    first = await client.post("/v1/customers", json=customer_body("cust-a"))
    assert first.status_code == 201
    customer_id = first.json()["id"]
    site_id = (await client.get(f"/v1/customers/{customer_id}/sites")).json()["items"][0]["id"]

    assert_problem(await client.post("/v1/customers", json=customer_body("cust-a")),
                   409, "externalRef")
    other = customer_body("cust-b")
    site0(other)["externalRef"] = "cust-a-site"
    assert_problem(await client.post("/v1/customers", json=other), 409, "sites[0].externalRef")
    other = customer_body("cust-b")
    site0(other)["devices"][0]["externalRef"] = "cust-a-site-meter"
    assert_problem(await client.post("/v1/customers", json=other), 409,
                   "sites[0].devices[0].externalRef")
    twice = customer_body("cust-b")
    twice["sites"].append(copy.deepcopy(site0(twice)))
    twice["sites"][1]["devices"][0]["externalRef"] = "other-meter"
    assert_problem(await client.post("/v1/customers", json=twice), 409, "sites[1].externalRef")
    assert_problem(await client.post(f"/v1/customers/{customer_id}/sites",
                                     json=site_body("cust-a-site")), 409, "externalRef")
    assert_problem(await client.post(f"/v1/sites/{site_id}/devices", json={
        "externalRef": "cust-a-site-meter", "kind": "meter", "name": "M", "medium": "gas"}),
        409, "externalRef")
    second = await client.post("/v1/customers", json={"externalRef": "cust-c", "name": "C",
                                                     "email": "c@example.com"})
    assert_problem(await client.patch(f"/v1/customers/{second.json()['id']}",
                                      json={"externalRef": "cust-a"}), 409, "externalRef")
    refs = sorted(c["externalRef"] for c in (await client.get("/v1/customers")).json()["items"])
    assert refs == ["cust-a", "cust-c"]


async def test_bad_query_parameters_are_400(client: AsyncTestClient) -> None:
    """Out-of-range or malformed query parameters are 400 problems naming the parameter."""
    for params, field in (({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                          ({"limit": "many"}, "limit")):
        assert_problem(await client.get("/v1/customers", params=params), 400, field)
    assert_problem(await client.get("/v1/sync/tasks", params={"status": "sleeping"}), 400, "status")
    assert_problem(await client.get("/v1/sync/tasks", params={"provider": "sap"}), 400, "provider")


JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["ada@example.com", "707057500012345678", "residential", "meter",
                       "volue", "zaehlerfreunde", "electricity", "NO", "", " "])
)
FIELD_NAMES = st.sampled_from([
    "externalRef", "name", "email", "providers", "sites", "vehicles", "kind", "address",
    "coordinates", "latitude", "longitude", "meterPointIds", "devices", "medium", "isMain",
    "meterPointId", "parentSiteId", "line1", "postcode", "city", "country", "vin", "year",
]) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(FIELD_NAMES, children, max_size=6),
    max_leaves=25,
)
BODIES = st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=8) | JSON_VALUES


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES)
async def test_no_body_makes_a_500(client: AsyncTestClient, body: Any) -> None:
    """Random JSON-ish bodies posted as customers always get an answer below 500."""
    response = await client.post("/v1/customers", json=body)
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM)


def value_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into a JSON document, the document itself excluded."""
    children: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[tuple[str | int, ...]] = []
    for key, child in children:
        found.append((*path, key))
        found.extend(value_paths(child, (*path, key)))
    return found


VALID_PATHS = value_paths(customer_body())


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(VALID_PATHS), value=JSON_VALUES, ref=st.text(min_size=1, max_size=8))
async def test_no_mutated_customer_makes_a_500(
    client: AsyncTestClient, path: tuple[str | int, ...], value: Any, ref: str
) -> None:
    """A valid customer with one value replaced by random JSON always gets an answer below 500."""
    body = customer_body(f"cust-{ref}")
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    response = await client.post("/v1/customers", json=body)
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM)
