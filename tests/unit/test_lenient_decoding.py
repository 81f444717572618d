"""What providers send may carry fields their contract does not name: dropped and logged, not refused."""

from __future__ import annotations

import logging

import httpx
import msgspec
import pytest

from providers import lenient
from providers.base import ProviderError
from providers.http import decode
from providers.lenient import decode_lenient
from providers.volue.schemas import EventNotification, GetEventsResponse
from tests.conftest import SHARED

VECTOR = SHARED / "providers" / "volue" / "webhook-test-data" / "price-curve-event.json"


def _events_page() -> dict:  # type: ignore[type-arg]
    note = msgspec.json.decode(VECTOR.read_bytes())
    return {"pagination": {"totalRecords": 1, "pageSize": 50, "currentPage": 1, "totalPages": 1,
                           "nextPage": None, "previousPage": None},
            "events": [{"id": note["eventId"], "createdAt": note["eventCreatedAtUtc"],
                        "payload": note["payload"]}]}


def test_unknown_fields_anywhere_are_dropped_and_named() -> None:
    """Extra keys at the top, in a nested struct, in list items and inside a tagged union member
    decode to what the clean body decodes to; their paths are returned."""
    clean = _events_page()
    extended = _events_page()
    extended["etag"] = "x"
    extended["pagination"]["cursor"] = "abc"
    payload = extended["events"][0]["payload"]
    payload["region"] = "north"
    payload["priceCurveDelta"]["points"][1]["confidence"] = 0.9
    value, dropped = decode_lenient(msgspec.json.encode(extended), GetEventsResponse)
    assert value == msgspec.json.decode(msgspec.json.encode(clean), type=GetEventsResponse)
    assert sorted(dropped) == ["$.etag", "$.events[0].payload.priceCurveDelta.points[1].confidence",
                               "$.events[0].payload.region", "$.pagination.cursor"]


def test_a_body_that_fits_decodes_strictly_with_nothing_dropped() -> None:
    """The published vector needs no leniency: nothing is dropped."""
    value, dropped = decode_lenient(VECTOR.read_bytes(), EventNotification)
    assert dropped == [] and value.event_id


@pytest.mark.parametrize("change", ["wrong type", "missing field", "unknown enum value", "unknown tag"])
def test_every_other_mismatch_still_fails(change: str) -> None:
    """Only unknown fields are forgiven: a wrong type, a missing field, an enum value or a
    payloadType outside the contract still fail, also beside an unknown field."""
    page = _events_page()
    page["extra"] = 1
    payload = page["events"][0]["payload"]
    if change == "wrong type":
        page["pagination"]["totalRecords"] = "one"
    elif change == "missing field":
        del page["events"][0]["id"]
    elif change == "unknown enum value":
        payload["priceCurveDelta"]["currency"] = "XXX"
    else:
        payload["payloadType"] = "Brand new"
    with pytest.raises(msgspec.ValidationError):
        decode_lenient(msgspec.json.encode(page), GetEventsResponse)


def test_upstream_answers_with_new_fields_are_used_and_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``providers.http.decode`` takes an answer with new fields, warns once per route and field set,
    and still turns a body that does not fit into a ProviderError."""
    monkeypatch.setattr(lenient, "_REPORTED", set())
    page = _events_page()
    page["etag"] = "x"
    request = httpx.Request("GET", "http://127.0.0.1/events")
    response = httpx.Response(200, content=msgspec.json.encode(page), request=request)
    with caplog.at_level(logging.WARNING, logger="providers.lenient"):
        for _ in range(3):
            assert decode(response, GetEventsResponse, route="/events").events
    warnings = [r.getMessage() for r in caplog.records if r.name == "providers.lenient"]
    assert len(warnings) == 1 and "$.etag" in warnings[0] and "GET /events" in warnings[0]
    broken = httpx.Response(200, content=b'{"pagination": 1, "extra": 2}', request=request)
    with pytest.raises(ProviderError, match="unexpected body"):
        decode(broken, GetEventsResponse, route="/events")
