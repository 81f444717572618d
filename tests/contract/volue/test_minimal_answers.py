"""The Volue emulator's minimal answer mode: answers the document allows, with only its required
members, bodiless where the document allows it; ``{"minimal": false}`` restores the full ones."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from openapi_core.validation.response.exceptions import MissingData

from tests.contract.volue.conftest import API_PREFIX, Emulator, SpecChecker, load_spec

AREA_2 = {"latitude": 78.21661621129984, "longitude": 15.63509153386616}


def _mode(emulator: Emulator, minimal: bool) -> None:
    response = httpx.put(f"{emulator.base_url}/_emulator/answers", json={"minimal": minimal})
    assert response.json() == {"minimal": minimal}
    assert httpx.get(f"{emulator.base_url}/_emulator/answers").json() == {"minimal": minimal}


def _schemaless(method: str, path: str, status: int) -> bool:
    """Whether the document declares this answer without a schema (``content: {json: {}}``)."""
    spec = load_spec()
    for template, operations in spec["paths"].items():
        pattern = "/".join("[^/]+" if part.startswith("{") else part for part in template.split("/"))
        if re.fullmatch(pattern, path) and method.lower() in operations:
            response = operations[method.lower()]["responses"].get(str(status), {})
            return all("schema" not in media for media in response.get("content", {}).values())
    return False


@pytest.fixture
def api(emulator: Emulator, spec_checker: SpecChecker) -> Iterator[httpx.Client]:
    """A client whose answers are checked against the document; openapi-core reads a declared
    ``application/json`` without a schema as a body being required, which the document's
    bodiless ``200`` variants (``content: {application/json: {}}``) do not ask for."""

    def check(response: httpx.Response) -> None:
        try:
            spec_checker(response)
        except MissingData:
            path = response.request.url.path.removeprefix(API_PREFIX)
            assert response.content == b""
            assert _schemaless(response.request.method, path, response.status_code)
            spec_checker.checked += 1

    with httpx.Client(base_url=emulator.base_url + API_PREFIX, timeout=10.0,
                      headers={"authorization": f"Bearer {emulator.token()}"},
                      event_hooks={"response": [check]}) as client:
        yield client


def test_minimal_answers_follow_the_document(api: httpx.Client, emulator: Emulator,
                                             spec_checker: SpecChecker) -> None:
    """Creates answer a bodiless 200, reads only required members (lists and payloads kept); all validate."""
    _mode(emulator, True)
    created = api.post("/users", json={"userId": "u1"})
    assert (created.status_code, created.content, created.headers.get("content-type")) == (200, b"", None)
    location = {"locationId": "l1", "locationType": "Residential", "coordinates": AREA_2}
    assert (api.post("/users/u1/locations", json=location).status_code, created.content) == (200, b"")
    tank = {"resourceId": "r1", "resourceType": "HotWaterTank"}
    assert api.post("/users/u1/locations/l1/resources", json=tank).status_code == 200
    assert api.get("/users").json() == {
        "pagination": {"totalRecords": 1, "pageSize": 100, "currentPage": 1}, "users": [{"userId": "u1"}]}
    assert api.get("/users/u1/locations/l1").json() == {"locationId": "l1"}
    [event] = api.get("/events").json()["events"]
    assert set(event) == {"id", "payload"} and event["payload"]["addedUsers"] == ["u1"]
    hook = api.post("/webhooks", json={"webhookUrl": "http://127.0.0.1:9/hook", "name": "h"})
    assert (hook.status_code, hook.content) == (200, b"")
    [listed] = api.get("/webhooks").json()["webhooks"]
    assert set(listed) == {"webhookId", "webhookUrl"}
    assert api.put(f"/webhooks/{listed['webhookId']}/enabled", params={"enabled": "false"}).status_code == 204
    report = api.post("/reports", json={"payloads": []})
    assert report.status_code == 200 and set(report.json()) == {"id"}
    assert api.delete("/users/u1").status_code == 204
    assert spec_checker.checked >= 10

    _mode(emulator, False)
    full = api.get("/webhooks").json()["webhooks"][0]
    assert {"enabled", "status", "createdDate", "modifiedDate", "lastAnalyzedTimestamp"} <= set(full)
    assert api.post("/users", json={"userId": "u2"}).json() == {"userId": "u2"}
