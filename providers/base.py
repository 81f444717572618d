"""What a provider adapter offers the gateway, and how it fails.

Each thing the gateway can ask of a provider is a capability: a ``Protocol``
below, named by a :class:`Capability` member. An adapter declares the ones it
implements in ``offers``; gateway code obtains one through the adapter set
(``providers.registry.Adapters``), never from a concrete adapter class.

==================  ==============================================================
entity sink         upserts and deletes of customers, sites and devices
readings sink       meter readings of many devices in one request
readings source     what the provider stored of one device's readings, read back
invite sender       an invite to a site's upstream object, answered with a link
report sink         canonical reports, rendered as the provider's body and sent
event source        one page of the provider's event listing, as canonical events
webhook registry    the webhooks the provider sends its events to (and their delivery logs)
programme           a customer's enrollment in the provider's programme, eligibility
                    and compensation
credentials probe   a token fetch with the configured credentials
inventory           every customer, site and device object the provider holds for us,
                    and what the object of an upsert would look like there
==================  ==============================================================

Exceptions, drawn once::

    ProviderError                 anything an adapter raises about an upstream call
    ├── TransientError            timeouts, connection errors, 500/502/503/504, 408, 429
    │                             (``retry_after`` seconds when the provider said so;
    │                             ``maybe_sent`` when the request may have been carried out)
    ├── AuthError                 401 that survived one token refresh, 403, bad client credentials
    ├── ConflictError             409 on an id we own whose read-back differs from ours
    └── RejectedError             any other 4xx: the provider refused the payload (``status``,
                                  provider ``message`` kept); never retried

A 404 on delete is not an error: the thing is gone, which is what we wanted.
``RETRIABLE`` says which classes the engine retries; everything else is fatal
for the task (dead-lettered at once, retried only by an operator).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec

from gateway.core.domain import (
    Customer,
    Device,
    DeviceKind,
    EntityType,
    Provider,
    Site,
    TaskAction,
)
from gateway.core.events import EventNotice, EventPage
from gateway.core.reports import LpcRequest, Report
from providers.shapes import Compensation as Compensation
from providers.shapes import CompensationProblem as CompensationProblem
from providers.shapes import Enrollment as Enrollment
from providers.shapes import SiteCompensation as SiteCompensation
from providers.shapes import Webhook as Webhook
from providers.shapes import WebhookLog as WebhookLog


class ProviderError(Exception):
    """An upstream call did not do what we asked."""

    def __init__(
        self, message: str, *, status: int | None = None, route: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.route = route


class TransientError(ProviderError):
    """Worth trying again later; ``retry_after`` is the provider's own wish, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        route: str | None = None,
        retry_after: float | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message, status=status, route=route)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent
        """The request may have reached the provider and been carried out (a 5xx, or a timeout
        or dropped connection after it was sent): a create must look before it is sent again."""


class AuthError(ProviderError):
    """Our credentials are not accepted, even after fetching a fresh token."""


class ConflictError(ProviderError):
    """The provider holds a different object under an id we own."""


class RejectedError(ProviderError):
    """The provider refused the request as invalid; sending it again will not help."""


RETRIABLE: tuple[type[ProviderError], ...] = (TransientError,)
"""Error classes the sync engine retries with backoff; all others fail the task."""


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What a provider takes, as data, so the API can plan work without an adapter."""

    name: str = ""
    """How people know the provider (in messages)."""
    customers: bool = False
    sites: bool = False
    device_kinds: frozenset[DeviceKind] = frozenset()
    meters_on_site: bool = False
    """Meter point ids travel on the site's upstream object (Volue locations)."""
    readings: bool = False
    reading_codes: frozenset[str] = frozenset()
    """The OBIS codes it takes readings of, in the normal form (``gateway.core.obis``)."""
    invites: bool = False
    reports: bool = False
    batch_limits: dict[EntityType, int] = {}
    """Upserts of these entity types can go in one batch request of at most N items."""

    def takes(self, entity_type: EntityType, kind: DeviceKind | None = None) -> bool:
        """Whether an entity of this type (and device kind) has an upstream object here."""
        if entity_type is EntityType.CUSTOMER:
            return self.customers
        if entity_type is EntityType.SITE:
            return self.sites
        return kind is not None and kind in self.device_kinds


class Operation(msgspec.Struct, frozen=True, kw_only=True):
    """One unit of work for an adapter: make ``entity`` exist upstream, or remove it.

    ``external_id`` is the provider's id for the entity once known (for Volue it
    is always our own id). ``parent_external_id`` is the provider id of the
    parent the upstream object hangs under (Zählerfreunde: the space of a device,
    the parent space of a site). ``site`` is the device's site. ``meter_point_ids``
    is every meter point id at a site (its own plus its meters'), for providers
    that carry them on the site. ``attempt`` counts earlier tries; ``maybe_sent`` says
    an earlier try of the task (before an operator's retry too) may have reached the
    provider, so creates look before they leap; ``sent_keys`` identify what those earlier
    tries may have created (the content then, which may since have changed), each of which
    a look also adopts; ``taken_external_ids`` are provider ids
    already linked to other entities of the same type, which such a look must never
    adopt. ``round_id`` names the engine's round, so its tasks can share one lookup.
    ``recreate_if_gone`` says the record is live and no delete of it is queued or done at
    this provider: only then may an update that finds its object gone upstream create it
    anew (else a late update would bring back what a delete removed).
    """

    task_id: str
    action: TaskAction
    entity: Customer | Site | Device
    external_id: str | None = None
    parent_external_id: str | None = None
    site: Site | None = None
    meter_point_ids: tuple[str, ...] = ()
    attempt: int = 0
    maybe_sent: bool = False
    sent_keys: tuple[str, ...] = ()
    taken_external_ids: frozenset[str] = frozenset()
    round_id: str = ""
    recreate_if_gone: bool = True

    @property
    def entity_type(self) -> EntityType:
        if isinstance(self.entity, Customer):
            return EntityType.CUSTOMER
        if isinstance(self.entity, Site):
            return EntityType.SITE
        return EntityType.DEVICE


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A finished operation: the provider's id for the entity (None after a delete)."""

    external_id: str | None
    note: str | None = None


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One upstream HTTP exchange, kept for the per-entity sync history."""

    method: str
    route: str
    status: int | None
    latency_ms: float
    error: str | None = None
    request_body: str | None = None
    """The request's body, secrets redacted and cut to a size (``providers.redact``)."""
    response_body: str | None = None
    request_truncated: bool = False
    response_truncated: bool = False
    trace_id: str | None = None
    """The trace the exchange's span belongs to (32 hex digits), when traces are recorded."""


class DeviceReadings(msgspec.Struct, frozen=True, kw_only=True):
    """Readings of one device, by the id the provider knows it under (our device id).

    Each reading is ``(obis_code, timestamp, value)``: the OBIS code in its
    ``1-1:1.8.0`` form, the time in epoch seconds.
    """

    external_device_id: str
    readings: list[tuple[str, int, float]]


class Held(msgspec.Struct, frozen=True, kw_only=True):
    """One object a provider holds, as drift reconciliation compares it.

    ``external_id`` is the provider's id for it (for Volue our own id);
    ``parent_external_id`` the object it hangs under (a location's user, a device's
    space). ``fields`` are what the gateway decides of the object, by the provider's
    own field names, compared one by one with :meth:`Inventory.expected_fields`; a field
    the provider's answer left out is absent from ``fields`` and not compared.
    """

    entity_type: EntityType
    external_id: str
    parent_external_id: str | None = None
    fields: dict[str, Any] = {}


class Capability(enum.StrEnum):
    """What the gateway can ask of a provider; each member names one protocol below."""

    ENTITY_SINK = "entity sink"
    READINGS_SINK = "readings sink"
    READINGS_SOURCE = "readings source"
    INVITE_SENDER = "invite sender"
    REPORT_SINK = "report sink"
    EVENT_SOURCE = "event source"
    WEBHOOK_REGISTRY = "webhook registry"
    CREDENTIALS_PROBE = "credentials probe"
    PROGRAMME = "programme"
    INVENTORY = "inventory"


@runtime_checkable
class EntitySink(Protocol):
    """Makes customers, sites and devices exist upstream, or removes them."""

    async def apply(self, op: Operation) -> Outcome:
        """Carry out one operation; raise a ``ProviderError`` subclass when it fails."""
        ...

    async def apply_batch(self, ops: Sequence[Operation]) -> list[Outcome | ProviderError]:
        """Carry out upserts of one entity type in as few requests as the provider allows.

        The result has one entry per operation, in order; one failed item does
        not fail the others.
        """
        ...

    def create_key(self, op: Operation) -> str | None:
        """What identifies the object ``op`` would create, when the provider mints its id and
        the object carries nothing of ours to find it by; None otherwise. The engine keeps
        it with the task before sending, so a later attempt (after a lost answer or a killed
        worker) can adopt, or a delete remove, what this one may have made."""
        ...


@runtime_checkable
class ReadingsSink(Protocol):
    """Takes meter readings of many devices at once."""

    async def push_readings(self, items: Sequence[DeviceReadings]) -> None:
        """Send the readings in one request; a refusal fails all of them."""
        ...

    def accepts_code(self, code: str) -> bool:
        """Whether it takes readings of ``code`` (an OBIS code in the normal form)."""
        ...


class StoredReading(msgspec.Struct, frozen=True, kw_only=True):
    """One value a provider holds of a device's readings, read back. What identifies it is the
    device (asked for), ``cumulative``, ``direction`` and the period ``timestamp`` names, with
    its ``value``; ``label`` is the provider's free text and identifies nothing."""

    cumulative: bool
    """A register's value (its latest in the period); False: a quantity summed over the period."""
    direction: str
    """``in`` (consumption) or ``out`` (production)."""
    timestamp: int
    """Epoch seconds the provider stamps the period with (its start or its end: see the source)."""
    value: float
    label: str | None = None


@runtime_checkable
class ReadingsSource(Protocol):
    """Reads back what the provider stored of a device's readings."""

    async def stored_readings(self, device_id: str, start: int, end: int) -> list[StoredReading]:
        """The device's (provider id) stored readings of the periods stamped ``start <= timestamp
        < end`` at the provider's finest resolution, one per period, code, kind and direction (a
        register's latest value, interval quantities summed); whether a stamp is its period's
        start or end is the provider's."""
        ...


@runtime_checkable
class InviteSender(Protocol):
    """Invites a person to a site's upstream object."""

    async def create_invite(self, *, space_id: str, email: str, send_email: bool) -> str:
        """Invite ``email`` to the object ``space_id``; return the invite link."""
        ...


@runtime_checkable
class ReportFormat(Protocol):
    """A provider's report bodies, with no connection needed (``providers.registry.report_format``):
    the gateway renders a report when it stores it, so the stored body is what is sent."""

    def render_report(self, report: Report) -> msgspec.Struct:
        """The request body of a canonical report (``gateway.core.reports``)."""
        ...

    def lpc_request(self, event_payload: Mapping[str, Any]) -> LpcRequest | None:
        """What answering the LPC request in a stored event payload needs; None for another type."""
        ...

    def answered_targets(self, body: Mapping[str, Any]) -> list[str]:
        """The ids of the targets a stored LPC answer's body accepted or declined."""
        ...


@runtime_checkable
class ReportSink(ReportFormat, Protocol):
    """Takes canonical reports: renders each as its request body, and sends such a body."""

    async def send_report(self, body: Mapping[str, Any] | msgspec.Struct) -> str | None:
        """Send one rendered body as it is; the provider's id for the report when its answer
        names one."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """Lists the provider's events page by page, mapped to canonical events."""

    async def events_page(self, page: int) -> EventPage:
        """One page (1-based) of the event listing, as large as the provider allows."""
        ...


class EventFormat(Protocol):
    """A provider's webhook notifications, with no connection needed
    (``providers.registry.event_format``): the body's schema (decoded by the receiver, and
    documented), its signature, its canonical form, and the event types the provider sends."""

    notification_type: type[msgspec.Struct]
    signature_header: str
    event_types: tuple[str, ...]

    def authentic(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], *,
                  accept_legacy: bool = False) -> bool:
        """Whether the notification ``body`` is signed with one of ``secrets``."""
        ...

    def notice(self, notification: msgspec.Struct) -> EventNotice:
        """The canonical form of a decoded notification."""
        ...


@runtime_checkable
class WebhookRegistry(Protocol):
    """Registers, lists and deletes the webhooks the provider sends events to."""

    async def register_webhook(
        self, *, url: str, name: str, secret: str, types: Sequence[str] = ()
    ) -> Webhook:
        """Create a webhook posting to ``url``, signed with ``secret``; no ``types`` means all."""
        ...

    async def list_webhooks(self) -> list[Webhook]:
        """Every webhook the provider holds for us."""
        ...

    async def delete_webhook(self, webhook_id: str) -> bool:
        """Delete one; False when the provider had no such webhook."""
        ...

    async def update_webhook(
        self, webhook_id: str, *, url: str | None = None, types: Sequence[str] | None = None,
        secret: str | None = None,
    ) -> Webhook | None:
        """Change where one posts, its event types or its secret; None when there is no such
        webhook."""
        ...

    async def set_webhook_enabled(self, webhook_id: str, enabled: bool) -> bool:
        """Enable or disable one; False when the provider had no such webhook."""
        ...

    async def webhook_logs(self, webhook_id: str | None = None, limit: int = 50) -> list[WebhookLog]:
        """The provider's most recent delivery attempts (of one webhook, or all)."""
        ...


@runtime_checkable
class Programme(Protocol):
    """A customer's membership of the provider's flexibility programme."""

    async def enroll(self, customer_id: str) -> Enrollment:
        """Enroll the customer (an existing enrollment stands); a refusal raises."""
        ...

    async def leave(self, customer_id: str) -> bool:
        """End the enrollment; False when the customer was not enrolled."""
        ...

    async def enrollment(self, customer_id: str) -> Enrollment | None:
        """The customer's enrollment; None when the provider does not know the customer."""
        ...

    async def customer_eligible(self, customer_id: str) -> bool | None:
        """Whether the customer is eligible now; None when the provider does not know it."""
        ...

    async def meter_point_eligible(self, meter_point_id: str) -> bool:
        """Whether a meter point is eligible (before any customer exists for it)."""
        ...

    async def compensation(self, customer_id: str) -> Compensation | None:
        """The current month's compensation per site; None for a customer the provider lacks."""
        ...


@runtime_checkable
class CredentialsProbe(Protocol):
    """Proves the configured credentials work."""

    async def check_credentials(self) -> None:
        """Fetch a token (or reuse a valid one); raise a ``ProviderError`` when refused."""
        ...


@runtime_checkable
class Inventory(Protocol):
    """Lists what the provider holds for us, and says what it should hold."""

    async def holdings(self) -> list[Held]:
        """Every customer, site and device object the provider holds for us, read through
        its listing calls; raise a ``ProviderError`` when a listing fails."""
        ...

    def expected_fields(self, op: Operation) -> dict[str, Any]:
        """The ``fields`` the object of the upsert ``op`` has there once it is synced;
        raise ``RejectedError`` when the entity has no object at this provider."""
        ...


PROTOCOLS: dict[Capability, type] = {
    Capability.ENTITY_SINK: EntitySink,
    Capability.READINGS_SINK: ReadingsSink,
    Capability.READINGS_SOURCE: ReadingsSource,
    Capability.INVITE_SENDER: InviteSender,
    Capability.REPORT_SINK: ReportSink,
    Capability.EVENT_SOURCE: EventSource,
    Capability.WEBHOOK_REGISTRY: WebhookRegistry,
    Capability.CREDENTIALS_PROBE: CredentialsProbe,
    Capability.PROGRAMME: Programme,
    Capability.INVENTORY: Inventory,
}
"""The protocol behind each capability."""


class ProviderAdapter(EntitySink, Protocol):
    """One upstream platform: an entity sink (what the sync engine drives) and the
    further capabilities it declares in ``offers``."""

    provider: Provider
    capabilities: Capabilities
    offers: frozenset[Capability]

    async def aclose(self) -> None:
        """Close the adapter's HTTP client."""
        ...
