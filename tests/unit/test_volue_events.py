"""Volue's events as canonical events: the records they name, eligibility, the payload kept as
sent, listing pages, and the webhook notification's signature."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from gateway.core.events import Eligibility, EventRef
from providers.volue import schemas as vs
from providers.volue.events import EVENT_TYPES, FORMAT, listed, notice, page
from providers.volue.webhooks import LEGACY_SECRET_HEADER, SIGNATURE_HEADER, sign

AT = datetime(2026, 3, 3, 12, tzinfo=UTC)


def _resource_lpc() -> vs.ResourceLPCPayload:
    point = vs.LPCDataPoint(max_power_in_kilo_watts=2.5, timestamp=AT)
    return vs.ResourceLPCPayload(targets=[
        vs.ResourceLPCTarget(meter_point_id="mp-1", location_id="site-1", resource_id="dev-1",
                             resolution="00:15:00", points=[point]),
        vs.ResourceLPCTarget(meter_point_id="mp-2", location_id="site-2", resource_id="dev-2",
                             resolution="00:15:00", points=[]),
    ])


def test_an_eligibility_update_names_its_users_once_as_customers() -> None:
    """A listed UserEligibility event: its type, each user once as a customer, the update itself."""
    payload = vs.UserEligibilityPayload(last_updated=AT, added_users=["c1", "c2"], removed_users=["c2", "c3"])
    event = listed(vs.GetEventResponse(id="e1", created_at=AT, payload=payload))
    assert (event.event_id, event.type, event.created_at) == ("e1", "UserEligibilityUpdated", AT)
    assert event.refs == (EventRef(customer_id="c1"), EventRef(customer_id="c2"), EventRef(customer_id="c3"))
    assert event.eligibility == Eligibility(added=("c1", "c2"), removed=("c2", "c3"), as_of=AT)


def test_the_payload_is_kept_as_volue_wrote_it() -> None:
    """The stored payload is the wire payload with its payloadType, camelCase as Volue sends it."""
    payload = _resource_lpc()
    event = listed(vs.GetEventResponse(id="e2", payload=payload))
    assert event.payload == msgspec.json.decode(msgspec.json.encode(payload))
    assert event.payload is not None and event.payload["payloadType"] == "ResourceLPC"
    assert event.created_at is None and event.eligibility is None


def test_targets_name_devices_at_sites_or_sites() -> None:
    """Resource targets name a device at its site; location targets name the site alone."""
    assert listed(vs.GetEventResponse(id="e3", payload=_resource_lpc())).refs == (
        EventRef(device_id="dev-1", site_id="site-1"), EventRef(device_id="dev-2", site_id="site-2"))
    location = vs.LocationLPCPayload(targets=[vs.LocationLPCTarget(
        location_id="site-9", meter_point_id="mp-9", resolution="00:15:00", points=[])])
    event = listed(vs.GetEventResponse(id="e4", payload=location))
    assert (event.type, event.refs) == ("LocationLPCRequested", (EventRef(site_id="site-9"),))


def test_an_event_listed_without_its_payload_has_no_type() -> None:
    """The document lets a listing leave the payload out: such an event carries no type or payload."""
    event = listed(vs.GetEventResponse(id="e5", created_at=AT))
    assert (event.type, event.payload, event.refs, event.created_at) == (None, None, (), AT)


def test_a_page_counts_its_pages_from_the_required_members() -> None:
    """A page without totalPages still says how many pages the listing has."""
    response = vs.GetEventsResponse(
        pagination=vs.ApiPagination(total_records=5, page_size=2, current_page=1),
        events=[vs.GetEventResponse(id="e6")])
    mapped = page(response)
    assert (mapped.last_page, [e.event_id for e in mapped.events]) == (3, ["e6"])


def test_a_notification_keeps_its_id_send_time_and_type() -> None:
    """A decoded notification maps to its id, send time and the event with the notified type."""
    sent = datetime(2026, 3, 3, 12, 1, tzinfo=UTC)
    note = vs.EventNotification(notification_id="n1", event_id="e7", event_created_at_utc=AT,
                                notification_sent_utc=sent,
                                notification_type=vs.NotificationType.RESOURCE_LPC_REQUESTED,
                                payload=_resource_lpc())
    mapped = FORMAT.notice(note)
    assert mapped == notice(note)
    assert (mapped.notification_id, mapped.sent_at) == ("n1", sent)
    assert (mapped.event.event_id, mapped.event.type, mapped.event.created_at) == (
        "e7", "ResourceLPCRequested", AT)


def test_the_signature_decides_and_the_clear_secret_only_when_allowed() -> None:
    """x-payload-signature must be the body's HMAC; the seed's clear secret counts only when accepted."""
    body = b'{"notificationId": "n1"}'
    assert FORMAT.authentic(body, {SIGNATURE_HEADER: sign(body, "s2")}, ["s1", "s2"])
    assert not FORMAT.authentic(body, {SIGNATURE_HEADER: sign(body, "other")}, ["s1", "s2"])
    legacy = {LEGACY_SECRET_HEADER.lower(): "s1"}
    assert not FORMAT.authentic(body, legacy, ["s1"])
    assert FORMAT.authentic(body, legacy, ["s1"], accept_legacy=True)
    assert not FORMAT.authentic(body, {LEGACY_SECRET_HEADER.lower(): "nope"}, ["s1"], accept_legacy=True)


def test_event_types_are_the_notification_types_volue_sends() -> None:
    """Every notification type but Unknown, in the document's order, is a subscribable type."""
    assert FORMAT.event_types == EVENT_TYPES
    assert EVENT_TYPES == tuple(t.value for t in vs.NotificationType)[1:]
    assert FORMAT.notification_type is vs.EventNotification
