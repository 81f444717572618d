"""Canonical customers, sites and devices → Volue Energy Coordination bodies (pure).

Our ids are Volue's ids: ``userId`` = customer id, ``locationId`` = site id,
``resourceId`` = device id. Meters have no Volue object; their meter point ids
travel on the site's location. Reports have their own module (:mod:`providers.volue.reports`).
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.core.domain import Coordinates, Customer, Device, DeviceKind, Site, SiteKind
from providers.base import RejectedError
from providers.volue.schemas import (
    Coordinate,
    GetLocationResponse,
    GetResourceResponse,
    LocationType,
    PostLocationBoundResourceRequest,
    PostLocationWithUserRequest,
    PostUserRequest,
    PostVehicleResourceRequest,
    PutLocationRequest,
    ResourceType,
)

LOCATION_TYPES: dict[SiteKind, LocationType] = {
    SiteKind.RESIDENTIAL: LocationType.RESIDENTIAL,
    SiteKind.COMMERCIAL: LocationType.COMMERCIAL,
    SiteKind.OTHER: LocationType.OTHER,
}

RESOURCE_TYPES: dict[DeviceKind, ResourceType] = {
    DeviceKind.VEHICLE: ResourceType.VEHICLE,
    DeviceKind.CHARGER: ResourceType.CHARGER,
    DeviceKind.HOT_WATER_TANK: ResourceType.HOT_WATER_TANK,
    DeviceKind.HVAC: ResourceType.HVAC,
    DeviceKind.SOLAR_INVERTER: ResourceType.SOLAR_INVERTER,
    DeviceKind.BATTERY: ResourceType.GENERIC,
    DeviceKind.GENERIC: ResourceType.GENERIC,
}
"""Volue's resource type per device kind; meters are absent (they live on locations)."""


def post_user(customer: Customer) -> PostUserRequest:
    """The ``POST /users`` body (also one item of ``POST /users/batch``)."""
    return PostUserRequest(user_id=customer.id)


def coordinate(coordinates: Coordinates) -> Coordinate:
    return Coordinate(latitude=coordinates.latitude, longitude=coordinates.longitude)


def meter_point_ids(site: Site, extra: Iterable[str] = ()) -> list[str]:
    """The site's own meter point ids, then those of its meters, each once, order kept."""
    return list(dict.fromkeys([*site.meter_point_ids, *extra]))


def _checked_points(site: Site, points: Iterable[str]) -> list[str]:
    ids = meter_point_ids(site, points)
    if not ids and site.coordinates is None:
        raise RejectedError(
            f"site {site.id} has neither meter point ids nor coordinates; "
            "Volue needs one of them to register a location"
        )
    return ids


def _coordinate(site: Site) -> Coordinate | None:
    return coordinate(site.coordinates) if site.coordinates is not None else None


def put_location(site: Site, points: Iterable[str] = ()) -> PutLocationRequest:
    """The location body for ``POST`` or ``PUT /users/{u}/locations[/{l}]``.

    ``points`` are the meter point ids of the site's meters. Rejects a site that
    has neither meter point ids nor coordinates, before any request is made.
    """
    ids = _checked_points(site, points)
    return PutLocationRequest(
        location_id=site.id,
        location_type=LOCATION_TYPES[site.kind],
        coordinates=_coordinate(site),
        meter_point_ids=ids,
    )


def post_location_with_user(site: Site, points: Iterable[str] = ()) -> PostLocationWithUserRequest:
    """One item of ``POST /users/locations/batch``."""
    ids = _checked_points(site, points)
    return PostLocationWithUserRequest(
        user_id=site.customer_id,
        location_id=site.id,
        location_type=LOCATION_TYPES[site.kind],
        coordinates=_coordinate(site),
        meter_point_ids=ids,
    )


def location_matches(found: GetLocationResponse, wanted: PutLocationRequest) -> bool:
    """Whether a location read back from Volue holds what ``wanted`` would write."""
    return (
        found.location_id == wanted.location_id
        and found.location_type == wanted.location_type
        and found.coordinates == wanted.coordinates
        and sorted(found.meter_point_ids) == sorted(wanted.meter_point_ids or [])
    )


def resource_type(device: Device) -> ResourceType:
    """Volue's resource type for a device; rejects meters, which have no Volue object."""
    found = RESOURCE_TYPES.get(device.kind)
    if found is None:
        raise RejectedError(
            f"Volue has no resource for a {device.kind.value}; meter point ids travel on the site's location"
        )
    return found


def location_resource(device: Device) -> PostLocationBoundResourceRequest:
    """The ``POST /users/{u}/locations/{l}/resources`` body."""
    return PostLocationBoundResourceRequest(resource_id=device.id, resource_type=resource_type(device))


def vehicle(device: Device) -> PostVehicleResourceRequest:
    """The ``POST /users/{u}/vehicles`` body."""
    return PostVehicleResourceRequest(resource_id=device.id, resource_type=ResourceType.VEHICLE)


def resource_matches(found: GetResourceResponse, device: Device) -> bool:
    """Whether a resource read back from Volue is this device at its site. The document lets
    an answer leave ``locationId`` out: a location not stated is not a different one."""
    location = None if device.kind is DeviceKind.VEHICLE else device.site_id
    return (
        found.resource_id == device.id
        and found.resource_type == resource_type(device)
        and found.user_id == device.customer_id
        and (found.location_id is None or found.location_id == location)
    )

