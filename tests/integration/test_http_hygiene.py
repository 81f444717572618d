"""Small HTTP rules: cursors the API did not hand out are a 400, a 405's ``Allow`` names each method
once, and JSON writes sent with another ``Content-Type`` are a 415 problem."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.http.content_type import is_json
from gateway.http.pages import decode_cursor, encode_cursor
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE


def _customer(ref: str) -> dict[str, Any]:
    return {"externalRef": ref, "name": "Kari", "email": f"{ref}@example.com", "providers": ["volue"]}


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API on SQLite, without a worker, with the admin key."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield test_client


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_cursors_handed_out_page_through_a_listing(client: AsyncTestClient) -> None:
    """Following nextCursor visits every customer once."""
    for ref in ("c-1", "c-2", "c-3"):
        assert (await client.post("/v1/customers", json=_customer(ref))).status_code == 201
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = (await client.get("/v1/customers", params=params)).json()
        seen.extend(item["externalRef"] for item in page["items"])
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    assert sorted(seen) == ["c-1", "c-2", "c-3"]


async def test_forged_cursors_are_a_400_naming_the_cursor(client: AsyncTestClient) -> None:
    """Hand-made, cut, edited or re-encoded cursors are refused, however well-formed their key."""
    for ref in ("c-1", "c-2"):
        assert (await client.post("/v1/customers", json=_customer(ref))).status_code == 201
    handed = (await client.get("/v1/customers", params={"limit": 1})).json()["nextCursor"]
    raw = base64.urlsafe_b64decode(handed + "=" * (-len(handed) % 4))
    key = msgspec.json.decode(raw[:-8])
    forged = {
        "zzzz": _b64(b'["zzzz"]'),
        "the same key without its check": _b64(msgspec.json.encode(key)),
        "cut short": handed[:-2],
        "check flipped": _b64(raw[:-1] + bytes([raw[-1] ^ 1])),
        "key edited": _b64(raw.replace(b'"', b"'", 1)),
        "not base64": "%%%%",
        "check only": _b64(raw[-8:]),
    }
    for name, cursor in forged.items():
        response = await client.get("/v1/customers", params={"cursor": cursor})
        assert response.status_code == 400, (name, response.text)
        assert response.json()["field"] == "cursor", name
    assert (await client.get("/v1/customers", params={"cursor": handed})).status_code == 200


async def test_forged_energy_cursors_are_a_400_naming_the_cursor(client: AsyncTestClient) -> None:
    """The energy read-backs' cursors are checked the same way: a hand-made (start, direction) is refused."""
    created = (await client.post("/v1/customers", json=TREE)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    meter = next(d for d in devices if d["kind"] == "meter")
    day = 1_700_006_400
    for forged in (_b64(b"1700006400:import"), _b64(b'[1700006400,"import"]'), _b64(b'["zzzz"]')):
        for path in (f"/v1/sites/{site['id']}/energy-usage", f"/v1/devices/{meter['id']}/consumption"):
            response = await client.get(path, params={"from": day, "to": day + 86_400, "cursor": forged})
            assert response.status_code == 400, (path, response.text)
            assert response.json()["field"] == "cursor"
    handed = encode_cursor(day, "")
    response = await client.get(f"/v1/devices/{meter['id']}/consumption",
                                params={"from": day, "to": day + 86_400, "cursor": handed})
    assert response.status_code == 200, response.text


def test_a_cursor_of_another_listing_shape_is_refused() -> None:
    """A genuine cursor is still refused by a listing whose key has another shape."""
    cursor = encode_cursor("id-1")
    assert decode_cursor(cursor, str) == ("id-1",)
    with pytest.raises(Exception, match="cursor is not one this API handed out"):
        decode_cursor(cursor, str, str)


async def test_a_405_allow_header_names_each_method_once(client: AsyncTestClient) -> None:
    """One Allow header, every method the path answers listed once."""
    response = await client.put("/v1/customers")
    assert response.status_code == 405
    allows = response.headers.get_list("allow")
    assert len(allows) == 1
    methods = [m.strip() for m in allows[0].split(",")]
    assert len(methods) == len(set(methods)) and {"GET", "POST"} <= set(methods)
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_json_write_with_another_content_type_is_a_415(client: AsyncTestClient) -> None:
    """A JSON body labelled as anything but JSON is refused as 415 problem+json naming Content-Type."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", "application/jsonx", "text/json"):
        response = await client.post("/v1/customers", content=msgspec.json.encode(_customer("c-415")),
                                     headers={"content-type": content_type})
        assert response.status_code == 415, (content_type, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 415 and problem["field"] == "Content-Type"
    patched = await client.patch("/v1/customers/some-id", content=b'{"name":"x"}',
                                 headers={"content-type": "text/plain"})
    assert patched.status_code == 415, patched.text
    assert (await client.get("/v1/customers")).json()["items"] == []


async def test_json_media_types_and_a_missing_content_type_are_read(client: AsyncTestClient) -> None:
    """application/json with parameters, +json types and no Content-Type at all are JSON writes."""
    for index, headers in enumerate([{"content-type": "application/json; charset=utf-8"},
                                     {"content-type": "Application/Merge-Patch+JSON"}, {}]):
        body = msgspec.json.encode(_customer(f"c-{index}"))
        response = await client.post("/v1/customers", content=body, headers=headers)
        assert response.status_code == 201, (headers, response.text)


async def test_writes_without_a_json_body_and_reads_ignore_the_content_type(client: AsyncTestClient) -> None:
    """The check concerns JSON bodies only: a read or a body-less delete labelled text/plain is served."""
    created = await client.post("/v1/customers", json=_customer("c-del"))
    listing = await client.get("/v1/customers", headers={"content-type": "text/plain"})
    assert listing.status_code == 200
    deleted = await client.delete(f"/v1/customers/{created.json()['id']}",
                                  headers={"content-type": "text/plain"})
    assert deleted.status_code == 200 and deleted.json()["deletedAt"] is not None, deleted.text


async def test_the_document_lists_415_on_json_writes_only(client: AsyncTestClient) -> None:
    """The served document gives 415 to operations taking a JSON body, not to reads."""
    document = (await client.get("/schema/openapi.json")).json()
    assert "415" in document["paths"]["/v1/customers"]["post"]["responses"]
    assert "415" not in document["paths"]["/v1/customers"]["get"]["responses"]


def test_json_media_types() -> None:
    """application/json and application/*+json are JSON, with parameters and in any case; others are not."""
    assert is_json("application/json") and is_json("application/problem+json; charset=utf-8")
    assert is_json("APPLICATION/JSON")
    assert not is_json("text/json") and not is_json("application/jsonx") and not is_json("json")
