"""Provider events in the gateway's own terms: what an event source and a webhook yield.

A provider's event reaches the gateway from its event listing (``providers.base.EventSource``)
or in a webhook notification (``providers.base.EventFormat``); the provider's package maps
either wire shape to a :class:`ProviderEvent`. The gateway stores the event's ``payload``
as the provider sent it (and forwards it so), and acts on the rest: the records it names
(:class:`EventRef`) and, for an eligibility update, who became eligible or stopped being so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class EventRef(msgspec.Struct, frozen=True, kw_only=True):
    """A record an event names, by the provider's ids (which are ours where the provider keeps
    our ids): a device (at a site, when the event says which), a site, or a customer."""

    customer_id: str | None = None
    site_id: str | None = None
    device_id: str | None = None


class Eligibility(msgspec.Struct, frozen=True, kw_only=True):
    """An eligibility update: customers that became eligible, and those that stopped being so."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    as_of: datetime | None = None
    """When the provider last changed the list (None: not said)."""


class ProviderEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a provider.

    ``payload`` is the event's own content as the provider wrote it (JSON types), None when a
    listing left it out: such an event has no ``type`` either and cannot be acted on.
    """

    event_id: str
    type: str | None
    created_at: datetime | None = None
    payload: dict[str, Any] | None = None
    refs: tuple[EventRef, ...] = ()
    """The records the event names, in its order."""
    eligibility: Eligibility | None = None


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a provider's event listing, and how many pages it has now."""

    events: list[ProviderEvent]
    last_page: int


class EventNotice(msgspec.Struct, frozen=True, kw_only=True):
    """An event as a webhook notification brought it: the notification's id and send time."""

    notification_id: str
    sent_at: datetime
    event: ProviderEvent
