"""Canonical sites, devices and readings → Zählerfreunde partner API bodies (pure).

A site becomes a space, a device an external device (one whose readings we
push), a batch of readings one ``POST /devices/readings`` array.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from msgspec import UNSET

from gateway.core.domain import Device, DeviceKind, Medium, Site
from providers.base import DeviceReadings, RejectedError
from providers.zaehlerfreunde.schemas import Device as UpstreamDevice
from providers.zaehlerfreunde.schemas import (
    DeviceDetails,
    DeviceMedium,
    DeviceType,
    NewDeviceReading,
    NewExternalDevice,
    NewReading,
    NewSpace,
    NewSpaceInvite,
    Space,
    UpdateSpace,
)

METER_TYPES: dict[Medium, DeviceType] = {
    Medium.ELECTRICITY: "SMART_METER",
    Medium.GAS: "GAS_METER",
    Medium.WATER: "WATER_METER",
    Medium.HEAT: "HEATING_METER",
}
"""The device type of a meter, by what it measures."""

DEVICE_TYPES: dict[DeviceKind, DeviceType] = {
    DeviceKind.CHARGER: "WALLBOX",
    DeviceKind.HVAC: "HEAT_PUMP",
    DeviceKind.SOLAR_INVERTER: "MICRO_INVERTER",
    DeviceKind.BATTERY: "BATTERY",
}
"""The device type of every other device kind Zählerfreunde knows."""

MEDIA: dict[Medium, DeviceMedium] = {
    Medium.ELECTRICITY: "ELECTRICITY",
    Medium.GAS: "GAS",
    Medium.WATER: "WATER",
    Medium.HEAT: "HEATING",
}


def new_space(site: Site, *, parent_space_id: str | None) -> NewSpace:
    """The ``POST /spaces`` body for a site; ``parent_space_id`` is its parent's space."""
    address = site.address
    return NewSpace(
        name=site.name,
        addressLineOne=address.line1,
        addressLineTwo=address.line2 if address.line2 is not None else UNSET,
        postcode=address.postcode,
        city=address.city,
        category=site.category.value,
        parentSpaceId=parent_space_id if parent_space_id is not None else UNSET,
    )


def update_space(site: Site, *, parent_space_id: str | None) -> UpdateSpace:
    """The ``PUT /spaces/{id}`` body: every field, ``None`` clearing an absent line two/parent."""
    address = site.address
    return UpdateSpace(
        name=site.name,
        addressLineOne=address.line1,
        addressLineTwo=address.line2,
        postcode=address.postcode,
        city=address.city,
        category=site.category.value,
        parentSpaceId=parent_space_id,
    )


def _text(value: object) -> str | None:
    """A string field as sent or read, with absent and empty both meaning None."""
    return value if isinstance(value, str) and value else None


def space_key(space: Space | NewSpace) -> tuple[str | None, ...]:
    """What a space is looked up by: the content ``space_matches`` compares."""
    return (_text(space.name), _text(space.addressLineOne), _text(space.addressLineTwo),
            _text(space.postcode), _text(space.city), _text(space.category),
            _text(space.parentSpaceId))


def encode_space_key(key: tuple[str | None, ...]) -> str:
    """A space key as text, to be kept with a task (see ``Operation.sent_keys``)."""
    return msgspec.json.encode(key).decode()


def space_key_of(text: str) -> tuple[str | None, ...]:
    """The space key :func:`encode_space_key` wrote."""
    return tuple(msgspec.json.decode(text, type=list[str | None]))


def device_keys(device: UpstreamDevice) -> list[str]:
    """Every external device id an upstream device carries (what ``carries_external_id`` reads)."""
    ids = device.externalDeviceIds if isinstance(device.externalDeviceIds, list) else []
    first = [device.externalDeviceId] if isinstance(device.externalDeviceId, str) else []
    return list(dict.fromkeys([*first, *(i for i in ids if isinstance(i, str))]))


def space_matches(space: Space, wanted: NewSpace) -> bool:
    """Whether an existing space has exactly the content ``wanted`` would create."""
    return (
        space.name == wanted.name
        and space.addressLineOne == wanted.addressLineOne
        and _text(space.addressLineTwo) == _text(wanted.addressLineTwo)
        and space.postcode == wanted.postcode
        and space.city == wanted.city
        and space.category == wanted.category
        and _text(space.parentSpaceId) == _text(wanted.parentSpaceId)
    )


def device_type(device: Device) -> DeviceType:
    """The Zählerfreunde device type for a canonical device; rejects kinds it lacks."""
    if device.kind is DeviceKind.METER:
        if device.medium is None:
            raise RejectedError(f"meter {device.id} has no medium, so it has no device type")
        return METER_TYPES[device.medium]
    found = DEVICE_TYPES.get(device.kind)
    if found is None:
        raise RejectedError(f"Zählerfreunde has no device type for a {device.kind.value}")
    return found


def device_medium(device: Device) -> DeviceMedium:
    """A meter's medium; every other device kind counts as electricity."""
    if device.kind is DeviceKind.METER and device.medium is not None:
        return MEDIA[device.medium]
    return "ELECTRICITY"


def new_external_device(device: Device) -> NewExternalDevice:
    """The ``POST /spaces/{id}/devices`` body; our device id travels as ``externalDeviceId``."""
    return NewExternalDevice(
        deviceName=device.name,
        isMainDevice=device.is_main,
        deviceType=device_type(device),
        deviceMedium=device_medium(device),
        externalDeviceId=device.id,
        meteringLocationId=device.meter_point_id if device.meter_point_id else UNSET,
        serialNumber=device.meter_number if device.meter_number else UNSET,
    )


def carries_external_id(device: UpstreamDevice, external_device_id: str) -> bool:
    """Whether an upstream device was created with (or since given) ``external_device_id``."""
    ids = device.externalDeviceIds if isinstance(device.externalDeviceIds, list) else []
    return device.externalDeviceId == external_device_id or external_device_id in ids


def device_readings(items: Sequence[DeviceReadings]) -> list[NewDeviceReading]:
    """The ``POST /devices/readings`` array, one entry per device, order kept."""
    return [
        NewDeviceReading(
            externalDeviceId=item.external_device_id,
            readings=[
                NewReading(obisCode=code, timestamp=timestamp, value=value)
                for code, timestamp, value in item.readings
            ],
        )
        for item in items
    ]


def new_invite(*, email: str, send_email: bool) -> NewSpaceInvite:
    """The ``POST /spaces/{id}/invites`` body."""
    return NewSpaceInvite(userEmail=email, sendInviteEmail=send_email)


def device_details(device: Device) -> DeviceDetails:
    """What a device update can change: name, main flag, meter point id, serial number.

    Type and medium are fixed once a device exists; the partner API has no way to
    change them.
    """
    return DeviceDetails(
        deviceName=device.name,
        isMainDevice=device.is_main,
        externalDeviceId=device.id,
        meteringLocationId=device.meter_point_id if device.meter_point_id else UNSET,
        serialNumber=device.meter_number if device.meter_number else UNSET,
    )


def epoch_of(timestamp: str) -> int:
    """A ``DeviceReading.timeStamp`` (ISO 8601, ``Z`` or an offset) as epoch seconds."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
