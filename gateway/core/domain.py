"""The canonical model: what the gateway stores and what adapters receive.

These structs are the gateway's own vocabulary, independent of both the REST
wire format (``gateway.api``) and the upstream payloads (``providers.*``).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Provider(StrEnum):
    """An upstream platform the gateway keeps in step."""

    VOLUE = "volue"
    ZAEHLERFREUNDE = "zaehlerfreunde"


class SyncStatus(StrEnum):
    """Where an entity stands at one provider."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    BLOCKED = "blocked"
    """Its task waits on a task that can no longer finish (dead); see ``blocked_by``."""
    DELETING = "deleting"
    DELETED = "deleted"
    DRIFTED = "drifted"
    """Synced once, but drift reconciliation found the provider's object missing or changed;
    synced again once a repair (or any later write) has gone through."""
    RETRYING = "retrying"
    """A change failed at the provider (a 5xx, a timeout, a 429) and waits to be sent again at
    ``nextAttemptAt``; ``circuit`` says whether the provider is found down meanwhile. Shown
    when read, in place of ``pending``, ``synced`` or ``drifted``: it is never stored."""


class TaskStatus(StrEnum):
    """Where an outbox task stands."""

    PENDING = "pending"
    """Waiting on its dependencies or ready to be claimed."""
    RUNNING = "running"
    """Leased by a worker until its ``lease_until``."""
    DONE = "done"
    DEAD = "dead"
    """Out of attempts or refused by the provider; retried by ops."""
    BLOCKED = "blocked"
    """Waits on a dead task (``blocked_by``); pending again once that task is retried,
    superseded or cancelled."""
    CANCELLED = "cancelled"
    """Dropped before it ran: a later write made it unnecessary."""
    DISMISSED = "dismissed"
    """A dead or blocked task ops gave up on, with a reason (``task_dismissals``); it leaves
    the problem lists and counts and never runs."""
    SUPERSEDED = "superseded"
    """A dead task a later write replaced with a fresh one."""


class InviteStatus(StrEnum):
    """Where a Zählerfreunde space invite stands, as the API shows it."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ReadingDeliveryStatus(StrEnum):
    """Where a reading stands on its way to Zählerfreunde, as the API shows it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    NOT_SENT = "not_sent"


class ProgrammeStatus(StrEnum):
    """Where a customer stands in a provider's programme (Volue's SPARK programme)."""

    ENROLLED = "enrolled"
    NOT_ENROLLED = "not_enrolled"
    PENDING = "pending"
    """An enroll or leave is queued and not carried out yet."""
    FAILED = "failed"
    """The provider refused the last enroll or leave (``lastError`` says why)."""


class ReportStatus(StrEnum):
    """Where a report for Volue's ``POST /reports`` stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class WebhookDeliveryStatus(StrEnum):
    """Where one event's delivery to one internal subscriber stands."""

    PENDING = "pending"
    """Queued, not tried yet."""
    RETRYING = "retrying"
    """Failed; tried again at ``next_attempt_at``."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up: the first attempt is older than the forwarding max age."""


class EntityType(StrEnum):
    CUSTOMER = "customer"
    SITE = "site"
    DEVICE = "device"


class TaskAction(StrEnum):
    """What an outbox task asks of a provider: make it look like ours, or remove it."""

    UPSERT = "upsert"
    DELETE = "delete"


class SiteKind(StrEnum):
    """Volue's LocationType, less its ``Unknown``."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    OTHER = "other"


class SpaceCategory(StrEnum):
    """Zählerfreunde's space categories (``NewSpace.category``)."""

    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    HOUSEHOLD = "HOUSEHOLD"
    OFFICE = "OFFICE"
    PV_SYSTEM = "PV_SYSTEM"
    COMMERCIAL = "COMMERCIAL"
    BIOGAS = "BIOGAS"
    RETAIL = "RETAIL"
    SINGLE_FAMILY_HOME = "SINGLE_FAMILY_HOME"
    PRODUCTION = "PRODUCTION"
    FLAT = "FLAT"
    WIND_ENERGY = "WIND_ENERGY"
    DOCTORS_OFFICE = "DOCTORS_OFFICE"
    GROUPING = "GROUPING"
    APARTMENT_BUILDING = "APARTMENT_BUILDING"
    REGION = "REGION"
    ROOM = "ROOM"
    LANDLORD_TO_TENANT_ELECTRICITY_PROJECT = "LANDLORD_TO_TENANT_ELECTRICITY_PROJECT"


DEFAULT_CATEGORY: dict[SiteKind, SpaceCategory] = {
    SiteKind.RESIDENTIAL: SpaceCategory.HOUSEHOLD,
    SiteKind.COMMERCIAL: SpaceCategory.COMMERCIAL,
    SiteKind.OTHER: SpaceCategory.GROUPING,
}
"""The category a site gets when the caller gives only its kind."""


class DeviceKind(StrEnum):
    METER = "meter"
    VEHICLE = "vehicle"
    CHARGER = "charger"
    HOT_WATER_TANK = "hot_water_tank"
    HVAC = "hvac"
    SOLAR_INVERTER = "solar_inverter"
    BATTERY = "battery"
    GENERIC = "generic"


class Medium(StrEnum):
    """What a meter measures."""

    ELECTRICITY = "electricity"
    GAS = "gas"
    WATER = "water"
    HEAT = "heat"


class Address(msgspec.Struct, frozen=True, kw_only=True):
    line1: str
    postcode: str
    city: str
    country: str
    line2: str | None = None


class Coordinates(msgspec.Struct, frozen=True, kw_only=True):
    latitude: float
    longitude: float


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    external_ref: str
    name: str
    email: str
    providers: tuple[Provider, ...]


class Site(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    customer_id: str
    external_ref: str
    name: str
    kind: SiteKind
    category: SpaceCategory
    address: Address
    coordinates: Coordinates | None = None
    meter_point_ids: tuple[str, ...] = ()
    parent_site_id: str | None = None


class Device(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    customer_id: str
    external_ref: str
    kind: DeviceKind
    name: str
    site_id: str | None = None
    medium: Medium | None = None
    is_main: bool = False
    meter_number: str | None = None
    meter_point_id: str | None = None
    brand: str | None = None
    model: str | None = None
    year: int | None = None
    vin: str | None = None
    capacity: float | None = None
