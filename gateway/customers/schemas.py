"""Request and response structs of the customer, site and device resources.

``*Create`` structs are POST bodies, ``*Update`` are PATCH bodies where a
field left out is ``UNSET`` (unchanged) and ``null`` clears an optional
field, ``*Read`` are responses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from gateway.core.domain import (
    DeviceKind,
    Medium,
    ProgrammeStatus,
    Provider,
    SiteKind,
    SpaceCategory,
)
from gateway.core.wire import (
    AddressIn,
    CoordinatesIn,
    Email,
    ExternalRef,
    Identified,
    MeterPointId,
    NonEmpty,
    ProviderSync,
    Wire,
)

Vin = Annotated[str, Meta(pattern=r"^[A-HJ-NPR-Z0-9]{17}$")]
Year = Annotated[int, Meta(ge=1900, le=2100)]
OptionalText = Annotated[str, Meta(max_length=100)]
MeterPointIds = Annotated[list[MeterPointId], Meta(max_length=50)]


class DeviceCreate(Identified):
    external_ref: ExternalRef
    kind: DeviceKind
    name: NonEmpty
    medium: Medium | None = None
    is_main: bool = False
    meter_number: OptionalText | None = None
    meter_point_id: MeterPointId | None = None
    brand: OptionalText | None = None
    model: OptionalText | None = None
    year: Year | None = None
    vin: Vin | None = None
    capacity: Annotated[float, Meta(ge=0)] | None = None


class VehicleCreate(Identified):
    external_ref: ExternalRef
    name: NonEmpty
    brand: OptionalText
    model: OptionalText
    year: Year
    vin: Vin
    capacity: Annotated[float, Meta(ge=0)] | None = None


class DeviceUpdate(Identified):
    external_ref: ExternalRef | UnsetType = UNSET
    name: NonEmpty | UnsetType = UNSET
    medium: Medium | None | UnsetType = UNSET
    is_main: bool | UnsetType = UNSET
    meter_number: OptionalText | None | UnsetType = UNSET
    meter_point_id: MeterPointId | None | UnsetType = UNSET
    brand: OptionalText | None | UnsetType = UNSET
    model: OptionalText | None | UnsetType = UNSET
    year: Year | None | UnsetType = UNSET
    vin: Vin | None | UnsetType = UNSET
    capacity: Annotated[float, Meta(ge=0)] | None | UnsetType = UNSET


class DeviceRead(Wire):
    id: str
    customer_id: str
    site_id: str | None
    external_ref: str
    kind: DeviceKind
    name: str
    medium: Medium | None
    is_main: bool
    meter_number: str | None
    meter_point_id: str | None
    brand: str | None
    model: str | None
    year: int | None
    vin: str | None
    capacity: float | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    sync: dict[str, ProviderSync]


class SiteCreate(Identified):
    external_ref: ExternalRef
    name: NonEmpty
    kind: SiteKind
    address: AddressIn
    category: SpaceCategory | None = None
    coordinates: CoordinatesIn | None = None
    meter_point_ids: MeterPointIds = []
    parent_site_id: str | None = None
    devices: Annotated[list[DeviceCreate], Meta(max_length=100)] = []


class SiteUpdate(Identified):
    external_ref: ExternalRef | UnsetType = UNSET
    name: NonEmpty | UnsetType = UNSET
    kind: SiteKind | UnsetType = UNSET
    category: SpaceCategory | UnsetType = UNSET
    address: AddressIn | UnsetType = UNSET
    coordinates: CoordinatesIn | None | UnsetType = UNSET
    meter_point_ids: MeterPointIds | UnsetType = UNSET
    parent_site_id: str | None | UnsetType = UNSET


class AddressRead(Wire):
    line1: str
    line2: str | None
    postcode: str
    city: str
    country: str


class CoordinatesRead(Wire):
    latitude: float
    longitude: float


class CompensationProblemRead(Wire):
    kind: str | None
    """The provider's problem type (``MissingMpidOnLocation`` ...)."""
    message: str
    """What is wrong and what to fix, in the gateway's terms."""
    field: str | None = None
    """The site's field to fix, when one is at fault."""


class SiteCompensationRead(Wire):
    """The site's compensation for the current month, as last fetched from the provider."""

    period_from: date | None
    period_to: date | None
    active_amount: float
    blocked_amount: float
    currency: str | None
    problems: list[CompensationProblemRead]
    checked_at: datetime
    meter_point_ids: list[str] = []
    """The meter point ids the provider holds for the site's location (from its answer)."""


class ProgrammeRead(Wire):
    """A customer's membership of a provider's programme."""

    status: ProgrammeStatus
    enrolled_at: datetime | None = None
    eligible: bool | None = None
    """None until an eligibility event or check said."""
    eligibility_checked_at: datetime | None = None
    last_error: str | None = None


class SiteRead(Wire):
    id: str
    customer_id: str
    external_ref: str
    name: str
    kind: SiteKind
    category: SpaceCategory
    address: AddressRead
    coordinates: CoordinatesRead | None
    meter_point_ids: list[str]
    parent_site_id: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    sync: dict[str, ProviderSync]
    compensation: dict[str, SiteCompensationRead] = {}
    """Per programme provider (``volue``): the last compensation fetched, with its problems."""


class CustomerCreate(Identified):
    external_ref: ExternalRef
    name: NonEmpty
    email: Email
    providers: Annotated[list[Provider], Meta(min_length=1, max_length=2)] = msgspec.field(
        default_factory=lambda: [Provider.VOLUE, Provider.ZAEHLERFREUNDE]
    )
    sites: Annotated[list[SiteCreate], Meta(max_length=50)] = []
    vehicles: Annotated[list[VehicleCreate], Meta(max_length=50)] = []


class CustomerUpdate(Identified):
    external_ref: ExternalRef | UnsetType = UNSET
    name: NonEmpty | UnsetType = UNSET
    email: Email | UnsetType = UNSET
    providers: Annotated[list[Provider], Meta(min_length=1, max_length=2)] | UnsetType = UNSET


class CustomerRead(Wire):
    id: str
    external_ref: str
    name: str
    email: str
    providers: list[Provider]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    sync: dict[str, ProviderSync]
    programmes: dict[str, ProgrammeRead] = {}
    """Per programme provider (``volue``): enrollment and eligibility."""


class CreatedRef(Wire):
    """A record a write created: its new id and the caller's externalRef."""

    id: str
    external_ref: str


class CreatedSite(CreatedRef):
    devices: list[CreatedRef]


class CustomerCreated(CustomerRead, kw_only=True):
    """The new customer with the ids of the sites, devices and vehicles created with it."""

    sites: list[CreatedSite]
    vehicles: list[CreatedRef]


class SiteCreated(SiteRead, kw_only=True):
    """The new site with the ids of the devices created with it."""

    devices: list[CreatedRef]


class CustomerBatch(Wire):
    """``POST /v1/customers/batch``: each item is validated and answered on its own."""

    customers: Annotated[list[msgspec.Raw], Meta(
        min_length=1, max_length=1000,
        description="Each item a CustomerCreate body (as for POST /v1/customers). An item that does "
                    "not fit is answered with a 400 in its own result, not by refusing the request, "
                    "so the items are not constrained here.")]


class BatchItemError(Wire):
    status: int
    title: str
    detail: str
    field: str | None = None


class BatchItemResult(Wire):
    index: int
    status: int
    customer: CustomerCreated | None = None
    error: BatchItemError | None = None


class CustomerBatchResult(Wire):
    created: int
    failed: int
    results: list[BatchItemResult]
