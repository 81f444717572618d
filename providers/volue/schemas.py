"""Volue Energy Coordination API wire shapes, named after the OpenAPI components.

Mirrors ``ec-sandbox-swagger.json`` (Partner Endpoints v1). The structs forbid
unknown fields (the spec says ``additionalProperties: false`` everywhere), which keeps
the emulator strict; what Volue sends us is decoded through :mod:`providers.lenient`,
which drops fields the spec does not name. Request structs omit ``None`` values when
encoded, because most optional fields are not nullable there.
Polymorphic payloads are msgspec tagged unions on ``payloadType``, which is what the
spec's ``discriminator`` mappings mean.

The quickstart's ``VehicleChargeAction`` report (seeds 000/003, a top-level ``name`` and
charge-action payloads) is not here: the current ``PostReportRequest`` allows neither, and
the document wins over the guides.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import msgspec


class _Wire(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Base for shapes whose optional, non-nullable fields must be left out when unset."""


class _Request(_Wire, omit_defaults=True):
    pass


class LocationType(enum.StrEnum):
    UNKNOWN = "Unknown"
    RESIDENTIAL = "Residential"
    COMMERCIAL = "Commercial"
    OTHER = "Other"


class ResourceType(enum.StrEnum):
    GENERIC = "Generic"
    VEHICLE = "Vehicle"
    CHARGER = "Charger"
    HOT_WATER_TANK = "HotWaterTank"
    HVAC = "HVAC"
    SOLAR_INVERTER = "SolarInverter"


class NotificationType(enum.StrEnum):
    UNKNOWN = "Unknown"
    PRICE_CURVE_CREATED = "PriceCurveCreated"
    USER_ELIGIBILITY_UPDATED = "UserEligibilityUpdated"
    LOCATION_LPC_REQUESTED = "LocationLPCRequested"
    RESOURCE_LPC_REQUESTED = "ResourceLPCRequested"
    LPC_RESERVATION_CREATED = "LPCReservationCreated"


class WebhookStatus(enum.StrEnum):
    NEW = "New"
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    TIME_OUT = "TimeOut"


class PriceArea(enum.StrEnum):
    UNKNOWN = "Unknown"
    NO1 = "NO1"
    NO2 = "NO2"
    NO3 = "NO3"
    NO4 = "NO4"
    NO5 = "NO5"
    FI = "FI"
    DK1 = "DK1"
    DK2 = "DK2"
    SE1 = "SE1"
    SE2 = "SE2"
    SE3 = "SE3"
    SE4 = "SE4"


class Currency(enum.StrEnum):
    NOK = "NOK"
    EUR = "EUR"
    SEK = "SEK"
    DKK = "DKK"


class EnergyUnit(enum.StrEnum):
    KWH = "kWh"
    MWH = "MWh"


# ---------------------------------------------------------------- users


class PostUserRequest(_Request):
    user_id: str


class GetUserResponse(_Wire):
    user_id: str


class PostUsersBatchRequest(_Request):
    users: list[PostUserRequest]


class PostUsersBatchResponse(_Wire):
    users: list[GetUserResponse]


class ApiPagination(_Wire):
    """A page's place in a listing; only the first three members are required."""

    total_records: int
    page_size: int
    current_page: int
    total_pages: int | None = None
    next_page: int | None = None
    previous_page: int | None = None

    @property
    def last_page(self) -> int:
        """The number of the last page: ``totalPages``, or worked out from the record count."""
        if self.total_pages is not None:
            return self.total_pages
        if self.page_size <= 0:
            return self.current_page
        return max(1, -(-self.total_records // self.page_size))

    @property
    def following_page(self) -> int | None:
        """The page after this one, None on the last: ``nextPage`` when given, otherwise
        worked out from the current page and :attr:`last_page`."""
        if self.next_page is not None:
            return self.next_page
        return self.current_page + 1 if self.current_page < self.last_page else None


class GetUsersResponse(_Wire):
    pagination: ApiPagination
    users: list[GetUserResponse] = msgspec.field(default_factory=list)


class GetUserEligibilityResponse(_Wire):
    user_id: str
    is_eligible: bool


class GetEligibleUsersResponse(_Wire):
    pagination: ApiPagination
    users: list[GetUserResponse] = msgspec.field(default_factory=list)


class GetMpidEligibilityResponse(_Wire):
    meter_point_id: str
    is_eligible: bool


class GetUserEnrollmentResponse(_Wire, omit_defaults=True):
    user_id: str
    is_enrolled: bool | None = None
    enrollment_id: str | None = None
    enrollment_date: datetime | None = None


class ProblemType(enum.StrEnum):
    MISSING_MPID_ON_LOCATION = "MissingMpidOnLocation"
    COMPENSATION_MPID_DOES_NOT_MATCH_LOCATION = "CompensationMpidDoesNotMatchLocation"


class Problem(_Wire, omit_defaults=True):
    message: str
    problem_type: ProblemType | None = None


class Period(_Wire, omit_defaults=True):
    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None


class LocationCompensation(_Wire, omit_defaults=True):
    location_id: str | None = None
    meter_point_ids: list[str] | None = None
    active_amount: float | None = None
    blocked_amount: float | None = None
    currency: Currency | None = None
    problems: list[Problem] | None = None


class GetUserCompensationForCurrentMonthResponse(_Wire, omit_defaults=True):
    period: Period
    user_id: str | None = None
    location_compensations: list[LocationCompensation] | None = None


# ---------------------------------------------------------------- locations


class Coordinate(_Request):
    """A WGS84 point. Both members are optional in the spec (a .NET double: 0 when absent)."""

    latitude: float = 0.0
    longitude: float = 0.0


class PostLocationRequest(_Request):
    location_id: str
    location_type: LocationType | None = None
    coordinates: Coordinate | None = None
    meter_point_id: str | None = None
    meter_point_ids: list[str] | None = None


class PostLocationWithUserRequest(_Request):
    location_id: str
    user_id: str
    location_type: LocationType | None = None
    coordinates: Coordinate | None = None
    meter_point_id: str | None = None
    meter_point_ids: list[str] | None = None


class PutLocationRequest(PostLocationRequest):
    pass


class PatchLocationRequest(_Request):
    location_type: LocationType | None = None
    coordinates: Coordinate | None = None
    meter_point_ids: list[str] | None = None


class PostLocationsBatchRequest(_Request):
    locations: list[PostLocationWithUserRequest]


class GetLocationResponse(_Wire, omit_defaults=True):
    location_id: str
    location_type: LocationType | None = None
    coordinates: Coordinate | None = None
    meter_point_id: str | None = None
    meter_point_ids: list[str] = msgspec.field(default_factory=list)
    user_id: str | None = None


class PostLocationsBatchResponse(_Wire):
    locations: list[GetLocationResponse]


# ---------------------------------------------------------------- resources


class PostLocationBoundResourceRequest(_Request):
    resource_id: str
    resource_type: ResourceType
    meter_point_id: str | None = None


class PostVehicleResourceRequest(_Request):
    resource_id: str
    resource_type: ResourceType


class GetLocationBoundResourceResponse(_Wire):
    resource_id: str
    resource_type: ResourceType
    location_id: str
    user_id: str
    meter_point_id: str | None = None


class GetResourceResponse(_Wire):
    resource_id: str
    resource_type: ResourceType
    user_id: str
    location_id: str | None = None
    meter_point_id: str | None = None


class GetUserResourcesResponse(_Wire):
    resources: list[GetResourceResponse]


# ---------------------------------------------------------------- events


class PriceCurvePoint(_Wire, omit_defaults=True):
    price: float | None = None
    timestamp: datetime | None = None


class PriceCurve(_Wire, omit_defaults=True):
    points: list[PriceCurvePoint] = msgspec.field(default_factory=list)
    energy_unit: EnergyUnit | None = None
    currency: Currency | None = None
    resolution: str | None = None


class PriceCurveTarget(_Wire):
    resource_id: str
    location_id: str


class LPCDataPoint(_Wire):
    max_power_in_kilo_watts: float | None = None
    timestamp: datetime | None = None


class LocationLPCTarget(_Wire):
    location_id: str
    meter_point_id: str
    resolution: str
    points: list[LPCDataPoint]


class ResourceLPCTarget(_Wire):
    meter_point_id: str
    location_id: str
    resource_id: str
    resolution: str
    points: list[LPCDataPoint]


class PriceCurvePayload(_Wire, tag_field="payloadType", tag="PriceCurve"):
    targets: list[PriceCurveTarget]
    price_curve_delta: PriceCurve
    price_area: PriceArea


class UserEligibilityPayload(_Wire, tag_field="payloadType", tag="UserEligibility"):
    last_updated: datetime
    added_users: list[str]
    removed_users: list[str]


class LocationLPCPayload(_Wire, tag_field="payloadType", tag="LocationLPC"):
    targets: list[LocationLPCTarget]


class ResourceLPCPayload(_Wire, tag_field="payloadType", tag="ResourceLPC"):
    targets: list[ResourceLPCTarget]


class LPCReservationPayload(_Wire, tag_field="payloadType", tag="LPCReservation"):
    targets: list[LocationLPCTarget]


SparkEventPayload = (
    PriceCurvePayload
    | UserEligibilityPayload
    | LocationLPCPayload
    | ResourceLPCPayload
    | LPCReservationPayload
)

NOTIFICATION_TYPE_BY_PAYLOAD: dict[type[msgspec.Struct], NotificationType] = {
    PriceCurvePayload: NotificationType.PRICE_CURVE_CREATED,
    UserEligibilityPayload: NotificationType.USER_ELIGIBILITY_UPDATED,
    LocationLPCPayload: NotificationType.LOCATION_LPC_REQUESTED,
    ResourceLPCPayload: NotificationType.RESOURCE_LPC_REQUESTED,
    LPCReservationPayload: NotificationType.LPC_RESERVATION_CREATED,
}


class GetEventResponse(_Wire):
    id: str
    created_at: datetime | None = None
    payload: SparkEventPayload | None = None


class GetEventsResponse(_Wire):
    pagination: ApiPagination
    events: list[GetEventResponse] = msgspec.field(default_factory=list)


class EventNotification(_Wire):
    """The body Volue POSTs to a webhook (``webhook-server-openapi.yaml``)."""

    notification_id: str
    event_id: str
    event_created_at_utc: datetime
    notification_sent_utc: datetime
    notification_type: NotificationType
    payload: SparkEventPayload


class SimulatePriceCurveEventRequest(_Request):
    targets: list[PriceCurveTarget] | None = None
    price_curve_delta: PriceCurve | None = None
    price_area: PriceArea | None = None


class LocationTarget(_Request):
    location_id: str | None = None
    meter_point_id: str | None = None


class ResourceTarget(_Request):
    location_id: str | None = None
    resource_id: str | None = None
    meter_point_id: str | None = None


class SimulatedLPCPoint(_Request):
    """``LPCDataPoint`` as a simulation request sends it: both members optional there."""

    max_power_in_kilo_watts: float | None = None
    timestamp: datetime | None = None


class LPCLocationTarget(_Request):
    """One location of a simulated LPC request: ``{location: {...}, points}``."""

    location: LocationTarget | None = None
    points: list[SimulatedLPCPoint] | None = None


class LPCResourceTarget(_Request):
    """One resource of a simulated LPC request: ``{resource: {...}, points}``."""

    resource: ResourceTarget | None = None
    points: list[SimulatedLPCPoint] | None = None


class SimulateLocationLPCEventRequest(_Request):
    locations: list[LPCLocationTarget] | None = None


class SimulateResourceLPCEventRequest(_Request):
    resources: list[LPCResourceTarget] | None = None


class SimulateEventResponse(_Wire):
    simulated_event: GetEventResponse | None = None


# ---------------------------------------------------------------- reports


class EnergyCurvePoint(_Request):
    timestamp: datetime
    kilo_watt_hours: float


class EnergyUsageReportPayload(_Request, tag_field="payloadType", tag="EnergyUsage"):
    resource_id: str
    resolution: str
    location_id: str | None = None
    meter_point_id: str | None = None
    points: list[EnergyCurvePoint] | None = None
    curve_points: list[EnergyCurvePoint] | None = None


class LocationEnergyUsageReportPayload(
    _Request, tag_field="payloadType", tag="LocationEnergyUsage"
):
    location_id: str
    meter_point_id: str
    resolution: str
    points: list[EnergyCurvePoint] | None = None


class LocationEnergyUsagePlanReportPayload(
    _Request, tag_field="payloadType", tag="LocationEnergyUsagePlan"
):
    location_id: str
    meter_point_id: str
    resolution: str
    baseline: list[EnergyCurvePoint]
    flexibility: list[EnergyCurvePoint]


class LPCResource(_Request):
    meter_point_id: str
    location_id: str
    resource_id: str


class LPCLocation(_Request):
    location_id: str
    meter_point_id: str


class ResourceLPCAcknowledgmentReportPayload(
    _Request, tag_field="payloadType", tag="ResourceLPCAcknowledgement"
):
    acknowledged_targets: list[LPCResource] | None = None
    declined_targets: list[LPCResource] | None = None


class LocationLPCAcknowledgmentReportPayload(
    _Request, tag_field="payloadType", tag="LocationLPCAcknowledgement"
):
    acknowledged_targets: list[LPCLocation] | None = None
    declined_targets: list[LPCLocation] | None = None


SparkReportPayload = (
    EnergyUsageReportPayload
    | LocationEnergyUsageReportPayload
    | LocationEnergyUsagePlanReportPayload
    | ResourceLPCAcknowledgmentReportPayload
    | LocationLPCAcknowledgmentReportPayload
)


class PostReportRequest(_Request):
    event_id: str | None = None
    payloads: list[SparkReportPayload] | None = None


class GetReportResponse(_Wire):
    id: str
    event_id: str | None = None
    created_at: datetime | None = None


# ---------------------------------------------------------------- webhooks


class PostWebhookRequest(_Request):
    webhook_url: str
    name: str | None = None
    webhook_secret: str | None = None
    notification_types: list[NotificationType] | None = None


class PutWebhookRequest(_Request):
    webhook_url: str
    webhook_secret: str | None = None
    notification_types: list[NotificationType] | None = None
    enabled: bool | None = None
    name: str | None = None


class PatchWebhookRequest(_Request):
    webhook_secret: str | None = None
    webhook_url: str | None = None
    notification_types: list[NotificationType] | None = None
    enabled: bool | None = None
    name: str | None = None


class GetWebhookResponse(_Wire):
    webhook_id: str
    webhook_url: str
    name: str | None = None
    notification_types: list[NotificationType] | None = None
    enabled: bool | None = None
    status: WebhookStatus | None = None
    modified_date: datetime | None = None
    created_date: datetime | None = None
    last_analyzed_timestamp: datetime | None = None


class GetWebhooksResponse(_Wire):
    webhooks: list[GetWebhookResponse]


class WebhookNotificationLog(_Wire):
    webhook_id: str
    tenant_id: str
    webhook_url: str
    partner_event_id: str | None = None
    notification_id: str | None = None
    notification_type: NotificationType | None = None
    notification_sent: datetime | None = None
    spark_signature: str | None = None
    request_timeout: bool | None = None
    response_status_code: int | None = None
    request_duration_ms: int | None = None


class GetWebhookNotificationLogsResponse(_Wire):
    webhook_notification_logs: list[WebhookNotificationLog] | None = None
    pagination: ApiPagination | None = None


class GetWebhookNotificationLogByIdResponse(_Wire):
    webhook_notification_log: WebhookNotificationLog | None = None
    notification_content: str | None = None


# ---------------------------------------------------------------- errors


class HttpValidationProblemDetails(
    msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"
):
    """RFC 9457 problem with validation errors; extra members are allowed and ignored."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    errors: dict[str, list[str]] = msgspec.field(default_factory=dict)
