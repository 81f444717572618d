"""Canonical → Volue bodies: field values, and validity against the provider's OpenAPI file."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
from openapi_schema_validator import OAS30Validator

from gateway.core.domain import (
    Address,
    Coordinates,
    Customer,
    Device,
    DeviceKind,
    Provider,
    Site,
    SiteKind,
    SpaceCategory,
)
from providers.base import RejectedError
from providers.volue import CAPABILITIES
from providers.volue import mapping as m
from providers.volue.schemas import (
    GetLocationResponse,
    GetResourceResponse,
    LocationType,
    ResourceType,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GATEWAY_SHARED_DIR", REPO_ROOT / ".." / "shared"))
SPEC = SHARED / "providers" / "volue" / "ec-sandbox-swagger.json"


@cache
def _components() -> dict[str, Any]:
    components: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))["components"]
    return components


def assert_valid(component: str, body: msgspec.Struct) -> dict[str, Any]:
    """Encode ``body`` and validate it against ``#/components/schemas/<component>``."""
    data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(body))
    schema = {"$ref": f"#/components/schemas/{component}", "components": _components()}
    OAS30Validator(schema).validate(data)
    return data


def _customer() -> Customer:
    return Customer(
        id="b2c3d4e5-f6a7-8901-bcde-f12345678901",
        external_ref="crm-1",
        name="Kari Nordmann",
        email="kari@example.com",
        providers=(Provider.VOLUE,),
    )


def _site(**changes: Any) -> Site:
    site = Site(
        id="c3d4e5f6-a7b8-9012-cdef-123456789012",
        customer_id="b2c3d4e5-f6a7-8901-bcde-f12345678901",
        external_ref="site-1",
        name="Home",
        kind=SiteKind.RESIDENTIAL,
        category=SpaceCategory.HOUSEHOLD,
        address=Address(line1="Vei 221", postcode="9171", city="Longyearbyen", country="SJ"),
        meter_point_ids=("707057500012345678",),
    )
    return msgspec.structs.replace(site, **changes)


def _device(kind: DeviceKind, **changes: Any) -> Device:
    device = Device(
        id="e5f6a7b8-c9d0-1234-ef12-345678901234",
        customer_id="b2c3d4e5-f6a7-8901-bcde-f12345678901",
        external_ref="dev-1",
        kind=kind,
        name="Thing",
        site_id="c3d4e5f6-a7b8-9012-cdef-123456789012",
    )
    return msgspec.structs.replace(device, **changes)


def test_user_body() -> None:
    """A customer becomes ``{userId}`` with our id."""
    data = assert_valid("PostUserRequest", m.post_user(_customer()))
    assert data == {"userId": "b2c3d4e5-f6a7-8901-bcde-f12345678901"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (SiteKind.RESIDENTIAL, "Residential"),
        (SiteKind.COMMERCIAL, "Commercial"),
        (SiteKind.OTHER, "Other"),
    ],
)
def test_location_type(kind: SiteKind, expected: str) -> None:
    """Each site kind maps to Volue's location type of the same name."""
    data = assert_valid("PutLocationRequest", m.put_location(_site(kind=kind)))
    assert data["locationType"] == expected


def test_location_with_meter_points() -> None:
    """Meter point ids are the site's own then its meters', each once, in order."""
    body = m.put_location(_site(), ["707057500099999999", "707057500012345678"])
    data = assert_valid("PutLocationRequest", body)
    assert data == {
        "locationId": "c3d4e5f6-a7b8-9012-cdef-123456789012",
        "locationType": "Residential",
        "meterPointIds": ["707057500012345678", "707057500099999999"],
    }


def test_location_with_coordinates_only() -> None:
    """A site with coordinates and no meter points still makes a valid location."""
    site = _site(meter_point_ids=(), coordinates=Coordinates(latitude=78.2166, longitude=15.635))
    data = assert_valid("PostLocationRequest", m.put_location(site))
    assert data["coordinates"] == {"latitude": 78.2166, "longitude": 15.635}
    assert data["meterPointIds"] == []


def test_location_needs_meter_points_or_coordinates() -> None:
    """A site with neither meter point ids nor coordinates is rejected before any request."""
    with pytest.raises(RejectedError, match="neither meter point ids nor coordinates"):
        m.put_location(_site(meter_point_ids=()))
    with pytest.raises(RejectedError):
        m.post_location_with_user(_site(meter_point_ids=()))


def test_batch_location_carries_user() -> None:
    """A batch item names the user the location belongs to."""
    data = assert_valid("PostLocationWithUserRequest", m.post_location_with_user(_site()))
    assert data["userId"] == "b2c3d4e5-f6a7-8901-bcde-f12345678901"
    assert data["locationId"] == "c3d4e5f6-a7b8-9012-cdef-123456789012"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (DeviceKind.CHARGER, "Charger"),
        (DeviceKind.HOT_WATER_TANK, "HotWaterTank"),
        (DeviceKind.HVAC, "HVAC"),
        (DeviceKind.SOLAR_INVERTER, "SolarInverter"),
        (DeviceKind.BATTERY, "Generic"),
        (DeviceKind.GENERIC, "Generic"),
    ],
)
def test_location_resource_types(kind: DeviceKind, expected: str) -> None:
    """Each location-bound device kind maps to its Volue resource type."""
    data = assert_valid("PostLocationBoundResourceRequest", m.location_resource(_device(kind)))
    assert data == {"resourceId": "e5f6a7b8-c9d0-1234-ef12-345678901234", "resourceType": expected}


def test_vehicle_body() -> None:
    """A vehicle is ``{resourceId, resourceType: Vehicle}``."""
    data = assert_valid("PostVehicleResourceRequest", m.vehicle(_device(DeviceKind.VEHICLE)))
    assert data == {"resourceId": "e5f6a7b8-c9d0-1234-ef12-345678901234", "resourceType": "Vehicle"}


def test_meters_have_no_resource() -> None:
    """A meter is refused as a resource: its point id travels on the location."""
    with pytest.raises(RejectedError, match="meter point ids travel on the site"):
        m.location_resource(_device(DeviceKind.METER))


def test_resource_table_covers_capabilities() -> None:
    """Every device kind Volue's capabilities promise has a resource type."""
    assert set(m.RESOURCE_TYPES) == set(CAPABILITIES.device_kinds)


def test_location_matches() -> None:
    """A read-back location equals the body when type, coordinates and meter points agree."""
    body = m.put_location(_site())
    same = GetLocationResponse(
        location_id=body.location_id,
        location_type=LocationType.RESIDENTIAL,
        meter_point_ids=["707057500012345678"],
        user_id="b2c3d4e5-f6a7-8901-bcde-f12345678901",
    )
    assert m.location_matches(same, body)
    moved = msgspec.structs.replace(same, meter_point_ids=["707057500000000000"])
    assert not m.location_matches(moved, body)


def test_resource_matches() -> None:
    """A read-back resource equals the device only with the same type, user and location."""
    device = _device(DeviceKind.CHARGER)
    found = GetResourceResponse(
        resource_id=device.id,
        resource_type=ResourceType.CHARGER,
        user_id=device.customer_id,
        location_id=device.site_id,
    )
    assert m.resource_matches(found, device)
    assert not m.resource_matches(msgspec.structs.replace(found, resource_type=ResourceType.HVAC), device)
    assert not m.resource_matches(msgspec.structs.replace(found, location_id="other"), device)
    vehicle = _device(DeviceKind.VEHICLE)
    as_vehicle = msgspec.structs.replace(found, resource_type=ResourceType.VEHICLE, location_id=None)
    assert m.resource_matches(as_vehicle, vehicle)


def test_a_minimal_resource_answer_without_its_location_still_matches() -> None:
    """Volue may leave ``locationId`` out of a resource it answers (the document does not
    require it): the device read back that way is the same device, not a conflict."""
    device = _device(DeviceKind.CHARGER)
    found = GetResourceResponse(resource_id=device.id, resource_type=ResourceType.CHARGER,
                                user_id=device.customer_id)
    assert m.resource_matches(found, device)
    assert not m.resource_matches(msgspec.structs.replace(found, user_id="someone-else"), device)
