"""Canonical → Zählerfreunde bodies: field values, and validity against the OpenAPI file."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from gateway.core.domain import (
    Address,
    Device,
    DeviceKind,
    Medium,
    Site,
    SiteKind,
    SpaceCategory,
)
from providers.base import RejectedError
from providers.zaehlerfreunde import CAPABILITIES
from providers.zaehlerfreunde import mapping as m
from providers.zaehlerfreunde.schemas import Device as UpstreamDevice
from providers.zaehlerfreunde.schemas import Space

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GATEWAY_SHARED_DIR", REPO_ROOT / ".." / "shared"))
SPEC = SHARED / "providers" / "zaehlerfreunde" / "openapi.yaml"


@cache
def _components() -> dict[str, Any]:
    components: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]
    return components


def assert_valid(schema: dict[str, Any], body: Any) -> Any:
    """Encode ``body`` and validate it against ``schema`` (refs into the spec's components)."""
    data = msgspec.json.decode(msgspec.json.encode(body))
    OAS30Validator({**schema, "components": _components()}).validate(data)
    return data


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _site(**changes: Any) -> Site:
    site = Site(
        id="c3d4e5f6-a7b8-9012-cdef-123456789012",
        customer_id="b2c3d4e5-f6a7-8901-bcde-f12345678901",
        external_ref="site-1",
        name="Musterhaus",
        kind=SiteKind.RESIDENTIAL,
        category=SpaceCategory.SINGLE_FAMILY_HOME,
        address=Address(line1="Hauptstraße 1", postcode="10115", city="Berlin", country="DE"),
    )
    return msgspec.structs.replace(site, **changes)


def _device(kind: DeviceKind, **changes: Any) -> Device:
    device = Device(
        id="e5f6a7b8-c9d0-1234-ef12-345678901234",
        customer_id="b2c3d4e5-f6a7-8901-bcde-f12345678901",
        external_ref="dev-1",
        kind=kind,
        name="Hauptzähler",
        site_id="c3d4e5f6-a7b8-9012-cdef-123456789012",
    )
    return msgspec.structs.replace(device, **changes)


def test_new_space_fields() -> None:
    """A site becomes a space with its name, address lines, postcode, city and category."""
    site = _site(
        address=Address(
            line1="Hauptstraße 1", line2="Hinterhaus", postcode="10115", city="Berlin", country="DE"
        )
    )
    data = assert_valid(ref("NewSpace"), m.new_space(site, parent_space_id="p-1"))
    assert data == {
        "name": "Musterhaus",
        "addressLineOne": "Hauptstraße 1",
        "addressLineTwo": "Hinterhaus",
        "postcode": "10115",
        "city": "Berlin",
        "category": "SINGLE_FAMILY_HOME",
        "parentSpaceId": "p-1",
    }


def test_new_space_leaves_out_absent_fields() -> None:
    """No line two and no parent means the optional fields are not sent at all."""
    data = assert_valid(ref("NewSpace"), m.new_space(_site(), parent_space_id=None))
    assert "addressLineTwo" not in data
    assert "parentSpaceId" not in data


def test_update_space_clears_absent_fields() -> None:
    """An update sends every field; an absent line two or parent is sent as null to clear it."""
    data = assert_valid(ref("UpdateSpace"), m.update_space(_site(), parent_space_id=None))
    assert data["addressLineTwo"] is None
    assert data["parentSpaceId"] is None
    assert data["name"] == "Musterhaus"
    assert data["category"] == "SINGLE_FAMILY_HOME"


def _space(**changes: Any) -> Space:
    space = Space(
        id="s-1",
        name="Musterhaus",
        addressLineOne="Hauptstraße 1",
        postcode="10115",
        city="Berlin",
        ownerUserId="o",
        category="SINGLE_FAMILY_HOME",
        categoryIcon="x",
        associatedUsersId=[],
        country="DE",
        isParticipatingInLttProject=False,
    )
    return msgspec.structs.replace(space, **changes)


def test_space_matches_identical_content_only() -> None:
    """Adoption needs every field equal; any difference means a different space."""
    wanted = m.new_space(_site(), parent_space_id=None)
    assert m.space_matches(_space(), wanted)
    assert not m.space_matches(_space(name="Other"), wanted)
    assert not m.space_matches(_space(parentSpaceId="p-1"), wanted)
    assert not m.space_matches(_space(addressLineTwo="Hinterhaus"), wanted)
    assert not m.space_matches(_space(category="FLAT"), wanted)


@pytest.mark.parametrize(
    ("medium", "device_type", "device_medium"),
    [
        (Medium.ELECTRICITY, "SMART_METER", "ELECTRICITY"),
        (Medium.GAS, "GAS_METER", "GAS"),
        (Medium.WATER, "WATER_METER", "WATER"),
        (Medium.HEAT, "HEATING_METER", "HEATING"),
    ],
)
def test_meter_types(medium: Medium, device_type: str, device_medium: str) -> None:
    """A meter's type and medium follow what it measures."""
    meter = _device(
        DeviceKind.METER,
        medium=medium,
        is_main=True,
        meter_point_id="DE0001234567890000000000000000001",
        meter_number="1ESY1160123456",
    )
    data = assert_valid(ref("NewExternalDevice"), m.new_external_device(meter))
    assert data == {
        "deviceName": "Hauptzähler",
        "isMainDevice": True,
        "deviceType": device_type,
        "deviceMedium": device_medium,
        "externalDeviceId": "e5f6a7b8-c9d0-1234-ef12-345678901234",
        "meteringLocationId": "DE0001234567890000000000000000001",
        "serialNumber": "1ESY1160123456",
    }


@pytest.mark.parametrize(
    ("kind", "device_type"),
    [
        (DeviceKind.CHARGER, "WALLBOX"),
        (DeviceKind.HVAC, "HEAT_PUMP"),
        (DeviceKind.SOLAR_INVERTER, "MICRO_INVERTER"),
        (DeviceKind.BATTERY, "BATTERY"),
    ],
)
def test_other_device_types(kind: DeviceKind, device_type: str) -> None:
    """Other device kinds get their type and count as electricity."""
    data = assert_valid(ref("NewExternalDevice"), m.new_external_device(_device(kind)))
    assert data["deviceType"] == device_type
    assert data["deviceMedium"] == "ELECTRICITY"
    assert data["isMainDevice"] is False
    assert "meteringLocationId" not in data and "serialNumber" not in data


def test_device_table_covers_capabilities() -> None:
    """Every device kind Zählerfreunde's capabilities promise has a device type."""
    assert set(m.DEVICE_TYPES) | {DeviceKind.METER} == set(CAPABILITIES.device_kinds)


@pytest.mark.parametrize("kind", [DeviceKind.VEHICLE, DeviceKind.HOT_WATER_TANK])
def test_unknown_kinds_rejected(kind: DeviceKind) -> None:
    """A device kind Zählerfreunde has no type for is rejected, not guessed."""
    with pytest.raises(RejectedError, match="no device type"):
        m.new_external_device(_device(kind))


def test_meter_without_medium_rejected() -> None:
    """A meter must say what it measures."""
    with pytest.raises(RejectedError, match="no medium"):
        m.device_type(_device(DeviceKind.METER))


def test_device_details() -> None:
    """A device update carries name, main flag, our id, meter point id and serial number."""
    meter = _device(DeviceKind.METER, medium=Medium.GAS, meter_number="G-1", is_main=True)
    data = assert_valid(ref("DeviceDetails"), m.device_details(meter))
    assert data == {
        "deviceName": "Hauptzähler",
        "isMainDevice": True,
        "externalDeviceId": "e5f6a7b8-c9d0-1234-ef12-345678901234",
        "serialNumber": "G-1",
    }


def _upstream_device(**changes: Any) -> UpstreamDevice:
    device = UpstreamDevice(
        id="d-1",
        name="x",
        status="CONNECTED",
        latestReadingTime="",
        firstReadingTime="",
        directions=[],
        provider="EXTERNAL",
        providerName="",
        providerDescription="",
        providerLogoUrl="",
        deviceType="SMART_METER",
        deviceTypeDescription="",
        deviceTypeImageUrl="",
        deviceTypeIcon="",
        isMainDevice=True,
        metaData=[],
        createdAt="",
        medium="ELECTRICITY",
        imageUrl="",
        ownerUserId="o",
    )
    return msgspec.structs.replace(device, **changes)


def test_carries_external_id() -> None:
    """A device is ours when either its external id field or list names our device id."""
    assert m.carries_external_id(_upstream_device(externalDeviceId="ours"), "ours")
    assert m.carries_external_id(_upstream_device(externalDeviceIds=["a", "ours"]), "ours")
    assert not m.carries_external_id(_upstream_device(externalDeviceId="theirs"), "ours")
    assert not m.carries_external_id(_upstream_device(), "ours")


def test_readings_body() -> None:
    """Readings become one array entry per device, by external device id."""
    items = [
        m.DeviceReadings(
            external_device_id="dev-1",
            readings=[("1-1:1.8.0", 1714635961, 10.5), ("1-1:2.8.0", 1714635961, 1.25)],
        ),
        m.DeviceReadings(external_device_id="dev-2", readings=[("7-1:3.1.0", 1714635961, 3.0)]),
    ]
    schema = {"type": "array", "items": ref("NewDeviceReading")}
    data = assert_valid(schema, m.device_readings(items))
    assert data == [
        {
            "externalDeviceId": "dev-1",
            "readings": [
                {"obisCode": "1-1:1.8.0", "timestamp": 1714635961, "value": 10.5},
                {"obisCode": "1-1:2.8.0", "timestamp": 1714635961, "value": 1.25},
            ],
        },
        {
            "externalDeviceId": "dev-2",
            "readings": [{"obisCode": "7-1:3.1.0", "timestamp": 1714635961, "value": 3.0}],
        },
    ]


def test_invite_body() -> None:
    """An invite names the email and whether Zählerfreunde sends it."""
    data = assert_valid(ref("NewSpaceInvite"), m.new_invite(email="a@example.com", send_email=False))
    assert data == {"userEmail": "a@example.com", "sendInviteEmail": False}
