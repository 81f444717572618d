"""Zählerfreunde partner API wire shapes, named after the schemas of its OpenAPI file.

Request bodies (``New*``, ``UpdateSpace``) refuse unknown fields and leave optional
fields ``UNSET`` so that encoding omits them (the API's optional fields are not
nullable, except where ``UpdateSpace`` says so). Response bodies tolerate fields
added upstream.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

# Epoch seconds up to 2100-01-01T00:00:00Z; millisecond timestamps are far above it.
MAX_TIMESTAMP_S = 4_102_444_800
INT32_MAX = 2**31 - 1

SpaceCategory = Literal[
    "HOTEL",
    "RESTAURANT",
    "HOUSEHOLD",
    "OFFICE",
    "PV_SYSTEM",
    "COMMERCIAL",
    "BIOGAS",
    "RETAIL",
    "SINGLE_FAMILY_HOME",
    "PRODUCTION",
    "FLAT",
    "WIND_ENERGY",
    "DOCTORS_OFFICE",
    "GROUPING",
    "APARTMENT_BUILDING",
    "REGION",
    "ROOM",
    "LANDLORD_TO_TENANT_ELECTRICITY_PROJECT",
]
DeviceType = Literal[
    "SMART_METER",
    "OPTICAL_METER_SENSOR",
    "WALLBOX",
    "SMART_PLUG",
    "SMART_RELAY",
    "ENERGY_METER",
    "NON_SMART_METER",
    "HEAT_PUMP",
    "MICRO_INVERTER",
    "VIRTUAL_METER",
    "GAS_METER",
    "WATER_METER",
    "HEATING_METER",
    "RLM_METER",
    "SMART_CAR",
    "BATTERY",
]
DeviceMedium = Literal["ELECTRICITY", "GAS", "WATER", "HEATING"]
DeviceStatus = Literal["CONNECTED", "CONNECTING", "FAILED"]
DeviceProvider = Literal[
    "BLUEMETERING",
    "DISCOVERGY",
    "SMARTME",
    "BSED",
    "EASEE",
    "SHELLY",
    "METERGRID",
    "WATTLINE",
    "ZAEHLERHELDEN",
    "MSCONS",
    "IMOVIS",
    "IMPORTED",
    "NON_SMART_METER_PROVIDER",
    "GO_E",
    "MYSTROM",
    "VIESSMANN",
    "TSUN",
    "EXTERNAL",
    "EDA",
    "AUXILIUS",
    "TIBBER",
    "OCPP",
    "BIT_SHAKE",
    "LOBARO",
    "SOLAREDGE",
]
Direction = Literal["IN", "OUT"]
ReadingStatus = Literal["REAL", "PRELIMINARY", "SUBSTITUTE"]
Measurement = Literal["POWER", "ENERGY", "METER_READING"]
Resolution = Literal["15_MIN", "1_HOUR", "1_DAY"]

EpochSeconds = Annotated[int, msgspec.Meta(ge=0, le=MAX_TIMESTAMP_S)]


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of request bodies."""


class _Response(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of response bodies."""


# --- auth -------------------------------------------------------------------------------


class NewApiToken(_Request):
    clientId: str
    clientSecret: str


class ApiToken(_Response):
    accessToken: str | UnsetType = UNSET


# --- spaces -----------------------------------------------------------------------------


class NewSpace(_Request):
    name: str
    addressLineOne: str
    postcode: str
    city: str
    category: SpaceCategory
    addressLineTwo: str | UnsetType = UNSET
    parentSpaceId: str | UnsetType = UNSET
    isParticipatingInLttProject: bool | UnsetType = UNSET


class UpdateSpace(_Request):
    """Only provided fields are updated; ``None`` clears the nullable ones."""

    name: str | UnsetType = UNSET
    addressLineOne: str | UnsetType = UNSET
    addressLineTwo: str | UnsetType | None = UNSET
    postcode: str | UnsetType = UNSET
    city: str | UnsetType = UNSET
    category: SpaceCategory | UnsetType = UNSET
    parentSpaceId: str | UnsetType | None = UNSET


class SpaceId(_Response):
    spaceId: str | UnsetType = UNSET


class Space(_Response):
    id: str
    name: str
    addressLineOne: str
    postcode: str
    city: str
    ownerUserId: str
    category: str
    categoryIcon: str
    associatedUsersId: list[str]
    country: str
    isParticipatingInLttProject: bool
    addressLineTwo: str | UnsetType = UNSET
    parentSpaceId: str | UnsetType = UNSET


class Spaces(_Response):
    spaces: list[Space]
    totalNumPages: int


class NewSpaceInvite(_Request):
    sendInviteEmail: bool
    userEmail: str
    accessRoleId: str | UnsetType = UNSET


class SpaceInviteLink(_Response):
    inviteLink: str | UnsetType = UNSET


# --- devices ----------------------------------------------------------------------------


class DeviceDetails(_Request):
    """``POST /spaces/{spaceId}/devices/{deviceId}/details``: only the fields given change."""

    deviceName: str | UnsetType = UNSET
    isMainDevice: bool | UnsetType = UNSET
    grid: bool | UnsetType = UNSET
    externalDeviceId: str | UnsetType = UNSET
    meteringLocationId: str | UnsetType = UNSET
    serialNumber: str | UnsetType = UNSET


class NewExternalDevice(_Request):
    """``NewDevice`` plus the fields of a device whose readings are pushed to the API."""

    deviceName: str
    isMainDevice: bool
    deviceType: DeviceType
    deviceMedium: DeviceMedium
    excludedFromCost: bool | UnsetType = UNSET
    externalDeviceId: str | UnsetType = UNSET
    meteringLocationId: str | UnsetType = UNSET
    serialNumber: str | UnsetType = UNSET
    conversionFactor: float | UnsetType = UNSET
    applyConversionFactor: bool | UnsetType = UNSET


class DeviceId(_Response):
    deviceId: str | UnsetType = UNSET


class Metadata(_Response):
    label: str
    value: str


class Device(_Response):
    id: str
    name: str
    status: DeviceStatus
    latestReadingTime: str
    firstReadingTime: str
    directions: list[Direction]
    provider: DeviceProvider
    providerName: str
    providerDescription: str
    providerLogoUrl: str
    deviceType: str
    deviceTypeDescription: str
    deviceTypeImageUrl: str
    deviceTypeIcon: str
    isMainDevice: bool
    metaData: list[Metadata]
    createdAt: str
    medium: DeviceMedium
    imageUrl: str
    ownerUserId: str
    providerInstructionsPath: str | UnsetType = UNSET
    isMainDeviceAllowed: bool | UnsetType = UNSET
    errorMessage: str | UnsetType = UNSET
    externalDeviceId: str | UnsetType = UNSET
    externalDeviceIds: list[str] | UnsetType = UNSET


class Devices(_Response):
    devices: list[Device]
    totalNumPages: int


# --- readings ---------------------------------------------------------------------------


class NewReading(_Request):
    obisCode: str
    timestamp: EpochSeconds
    value: float
    status: ReadingStatus | UnsetType = UNSET
    meteringInterval: Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)] | UnsetType = UNSET


class NewDeviceReading(_Request):
    readings: list[NewReading]
    deviceId: str | UnsetType = UNSET
    externalDeviceId: str | UnsetType = UNSET


class DeviceReading(_Response):
    deviceId: str
    timeStamp: str
    measurement: Measurement
    value: float
    unit: str
    label: str
    deviceType: str
    deviceProvider: str
    medium: str
    direction: Direction
