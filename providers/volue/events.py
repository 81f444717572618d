"""Volue's events → canonical events (:mod:`gateway.core.events`), from ``GET /events`` pages
and from webhook notifications, and how a notification is signed.

Our ids are Volue's ids: a payload's ``resourceId`` is a device id, ``locationId`` a site id
and a ``UserEligibility`` update's users are customer ids. An event's type is its
notification type (``PriceCurveCreated``, ...); a listed event names none, so it is read off
the payload's ``payloadType``. The payload is kept as Volue wrote it (its ``payloadType`` too).

:data:`FORMAT` needs no connection: the webhook receiver decodes, checks and maps a
notification with it, and the event types a subscription may name come from it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

import msgspec

from gateway.core.events import Eligibility, EventNotice, EventPage, EventRef, ProviderEvent
from providers.volue import schemas as vs
from providers.volue.webhooks import LEGACY_SECRET_HEADER, SIGNATURE_HEADER, verify

EVENT_TYPES: tuple[str, ...] = tuple(
    t.value for t in vs.NotificationType if t is not vs.NotificationType.UNKNOWN)
"""Volue's notification types, in the document's order."""


def refs(payload: vs.SparkEventPayload) -> tuple[EventRef, ...]:
    """The records a payload names: users as customers, (resource, location) pairs as devices at
    sites, locations as sites."""
    if isinstance(payload, vs.UserEligibilityPayload):
        users = dict.fromkeys([*payload.added_users, *payload.removed_users])
        return tuple(EventRef(customer_id=user) for user in users)
    if isinstance(payload, vs.PriceCurvePayload | vs.ResourceLPCPayload):
        return tuple(EventRef(device_id=t.resource_id, site_id=t.location_id) for t in payload.targets)
    return tuple(EventRef(site_id=t.location_id) for t in payload.targets)


def event(event_id: str, type_: vs.NotificationType, payload: vs.SparkEventPayload,
          created_at: datetime | None = None) -> ProviderEvent:
    """The canonical event of one Volue event."""
    eligibility = None
    if isinstance(payload, vs.UserEligibilityPayload):
        eligibility = Eligibility(added=tuple(payload.added_users), removed=tuple(payload.removed_users),
                                  as_of=payload.last_updated)
    return ProviderEvent(event_id=event_id, type=type_.value,
                         created_at=created_at,
                         payload=msgspec.to_builtins(payload), refs=refs(payload),
                         eligibility=eligibility)


def listed(item: vs.GetEventResponse) -> ProviderEvent:
    """A listed event; one listed without its payload (the document makes it optional) has no
    type or payload."""
    if item.payload is None:
        return ProviderEvent(event_id=item.id, type=None, created_at=item.created_at)
    return event(item.id, vs.NOTIFICATION_TYPE_BY_PAYLOAD[type(item.payload)], item.payload,
                 item.created_at)


def page(response: vs.GetEventsResponse) -> EventPage:
    """One ``GET /events`` page."""
    return EventPage(events=[listed(item) for item in response.events],
                     last_page=response.pagination.last_page)


def notice(note: vs.EventNotification) -> EventNotice:
    """A webhook notification."""
    return EventNotice(notification_id=note.notification_id, sent_at=note.notification_sent_utc,
                       event=event(note.event_id, note.notification_type, note.payload,
                                   note.event_created_at_utc))


def authentic(body: bytes, headers: Mapping[str, str], secrets: Sequence[str], *,
              accept_legacy: bool = False) -> bool:
    """Whether a notification is signed with one of ``secrets``: ``x-payload-signature`` is
    base64(HMAC-SHA256(raw body, secret)), checked in constant time; without it, the seed's
    ``Spark-Signature`` (the secret itself, in clear) only when ``accept_legacy``."""
    signature = headers.get(SIGNATURE_HEADER)
    if signature is not None:
        return any(verify(body, signature, secret) for secret in secrets)
    legacy = headers.get(LEGACY_SECRET_HEADER.lower())
    if legacy is None or not accept_legacy:
        return False
    given = legacy.encode("utf-8")
    matches = [hmac.compare_digest(given, secret.encode("utf-8")) for secret in secrets]
    return any(matches)


class VolueEventFormat:
    """``EventFormat`` of Volue: its webhook notifications and event types, as one object."""

    notification_type: type[msgspec.Struct] = vs.EventNotification
    signature_header: str = SIGNATURE_HEADER
    event_types: tuple[str, ...] = EVENT_TYPES

    def authentic(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], *,
                  accept_legacy: bool = False) -> bool:
        """Whether the notification ``body`` is signed with one of ``secrets``."""
        return authentic(body, headers, secrets, accept_legacy=accept_legacy)

    def notice(self, notification: msgspec.Struct) -> EventNotice:
        """The canonical form of a decoded notification (of :attr:`notification_type`)."""
        if not isinstance(notification, vs.EventNotification):
            raise TypeError(f"not a Volue notification: {type(notification).__name__}")
        return notice(notification)


FORMAT = VolueEventFormat()
"""Volue's event format (no connection needed)."""
