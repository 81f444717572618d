"""Caller ids (``externalRef``) are one id in every Unicode spelling: NFC-normalised before they are
stored and looked up; control and format characters are refused with the field named."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.core.wire import CALLER_ID_REFUSED, ExternalRef, Identified
from tests.conftest import ADMIN_KEY

CAFE_NFC = "caf\u00e9"
CAFE_NFD = "cafe\u0301"


def _customer(ref: str, **extra: Any) -> dict[str, Any]:
    return {"externalRef": ref, "name": "Kari", "email": "kari@example.com", "providers": ["volue"], **extra}


def _site(ref: str, devices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"externalRef": ref, "name": "Hytta", "kind": "residential",
            "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
            "devices": devices or []}


def _meter(ref: str) -> dict[str, Any]:
    return {"externalRef": ref, "kind": "meter", "name": "Meter", "medium": "electricity"}


async def test_the_nfd_twin_of_an_external_ref_is_a_conflict(client: AsyncTestClient) -> None:
    """A customer created as NFC café and one sent as NFD cafe+U+0301 are one id: the second is a 409."""
    first = await client.post("/v1/customers", json=_customer(CAFE_NFC))
    assert first.status_code == 201, first.text
    twin = await client.post("/v1/customers", json=_customer(CAFE_NFD))
    assert twin.status_code == 409, twin.text
    assert twin.json()["field"] == "externalRef"
    assert len((await client.get("/v1/customers")).json()["items"]) == 1


async def test_an_nfd_ref_is_stored_in_nfc_and_found_in_either_spelling(
    sqlite_client: AsyncTestClient,
) -> None:
    """An id sent decomposed is answered and stored composed; the externalRef filter finds it both ways."""
    client = sqlite_client
    created = await client.post("/v1/customers", json=_customer(CAFE_NFD))
    assert created.status_code == 201, created.text
    assert created.json()["externalRef"] == CAFE_NFC
    for spelling in (CAFE_NFC, CAFE_NFD):
        found = (await client.get("/v1/customers", params={"externalRef": spelling})).json()["items"]
        assert [c["id"] for c in found] == [created.json()["id"]], spelling


async def test_site_device_and_update_refs_are_normalised_too(sqlite_client: AsyncTestClient) -> None:
    """Sites, devices and a PATCH to an externalRef compare in NFC: twins clash, within a body too."""
    client = sqlite_client
    customer = (await client.post("/v1/customers", json=_customer("c-1"))).json()
    site = await client.post(f"/v1/customers/{customer['id']}/sites",
                             json=_site(f"s-{CAFE_NFC}", [_meter(f"m-{CAFE_NFC}")]))
    assert site.status_code == 201, site.text
    twin_site = await client.post(f"/v1/customers/{customer['id']}/sites", json=_site(f"s-{CAFE_NFD}"))
    assert twin_site.status_code == 409 and twin_site.json()["field"] == "externalRef", twin_site.text
    twin_device = await client.post(f"/v1/sites/{site.json()['id']}/devices", json=_meter(f"m-{CAFE_NFD}"))
    assert twin_device.status_code == 409, twin_device.text
    other = (await client.post("/v1/customers", json=_customer("c-2"))).json()
    await client.patch(f"/v1/customers/{customer['id']}", json={"externalRef": CAFE_NFC})
    patched = await client.patch(f"/v1/customers/{other['id']}", json={"externalRef": CAFE_NFD})
    assert patched.status_code == 409, patched.text
    within = await client.post("/v1/customers", json=_customer("c-3", sites=[
        _site("s-3", [_meter(f"twin-{CAFE_NFC}"), _meter(f"twin-{CAFE_NFD}")])]))
    assert within.status_code == 409, within.text
    assert within.json()["field"] == "sites[0].devices[1].externalRef"


REFUSED = [
    ("a\u200bb", "zero-width space"),
    ("a\u202eb", "right-to-left override"),
    ("a\u2066b\u2069", "isolates"),
    ("a\u0085b", "C1 next line"),
    ("a\u009bb", "C1 CSI"),
    ("a\tb", "tab"),
    ("a\x1bb", "escape"),
    ("\ufeffab", "byte order mark"),
    ("a\u00adb", "soft hyphen"),
    ("a\U000e0041b", "tag character"),
    (" ab", "leading space"),
]


@pytest.fixture
async def sqlite_client(sqlite_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API on SQLite only, for checks made before anything is stored."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def test_control_and_format_characters_are_a_400_naming_the_field(
    sqlite_client: AsyncTestClient,
) -> None:
    """Cc and Cf characters anywhere in an externalRef are refused, the field named, nothing stored."""
    client = sqlite_client
    for ref, what in REFUSED:
        response = await client.post("/v1/customers", json=_customer(ref))
        assert response.status_code == 400, (what, response.text)
        assert response.json()["field"] == "externalRef", what
        nested = await client.post("/v1/customers",
                                   json=_customer("c-n", sites=[_site("s-1", [_meter(ref)])]))
        assert nested.status_code == 400, (what, nested.text)
        assert nested.json()["field"] == "sites[0].devices[0].externalRef", what
    assert (await client.get("/v1/customers")).json()["items"] == []


async def test_readings_find_a_meter_by_either_spelling_of_its_ref(sqlite_client: AsyncTestClient) -> None:
    """A reading naming its meter by the NFD spelling of an NFC externalRef reaches that meter."""
    client = sqlite_client
    customer = await client.post("/v1/customers", json=_customer(
        "c-r", sites=[_site("s-r", [_meter(f"m-{CAFE_NFC}")])]))
    assert customer.status_code == 201, customer.text
    response = await client.post("/v1/readings", json={"readings": [
        {"deviceExternalRef": f"m-{CAFE_NFD}", "obisCode": "1-1:1.8.0", "timestamp": 1_700_000_000,
         "value": 1.0}]})
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1, response.text


def test_the_refused_class_is_exactly_unicodes_control_and_format_characters() -> None:
    """Every Cc and Cf code point is in the refused class, and nothing else but Unicode 15's new Cf."""
    refused = re.compile(f"[{CALLER_ID_REFUSED}]")
    # planes 0, 1 and 14 hold every Cc and Cf character, and every code point the class names
    planes = [*range(0xD800), *range(0xE000, 0x20000), *range(0xE0000, 0xF0000)]
    assert max(ord(ch) for ch in CALLER_ID_REFUSED) < 0xF0000
    everything = "".join(map(chr, planes))
    hits = set(refused.findall(everything))
    wanted = {ch for ch in everything if unicodedata.category(ch) in ("Cc", "Cf")}
    later = {chr(c) for c in range(0x13439, 0x13440)}  # format controls added in Unicode 15
    assert wanted <= hits <= wanted | later


def test_an_id_longer_than_the_limit_once_composed_is_refused() -> None:
    """A few characters decompose under NFC; an id that grows past 200 characters is refused by name."""

    class Body(Identified):
        external_ref: ExternalRef

    with pytest.raises(msgspec.ValidationError, match=r"\$\.externalRef"):
        msgspec.json.decode(msgspec.json.encode({"externalRef": "\u0958" * 150}), type=Body)
    assert msgspec.json.decode(b'{"externalRef":"\\u0958"}', type=Body).external_ref == "\u0915\u093c"
