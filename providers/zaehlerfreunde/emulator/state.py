"""The in-memory state of the Zählerfreunde emulator: spaces, devices, readings, invites."""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec
from msgspec import UNSET

from providers.zaehlerfreunde.emulator.readings import CODE_BITS, ObisIndex, iso
from providers.zaehlerfreunde.schemas import (
    DeviceDetails,
    NewDeviceReading,
    NewExternalDevice,
    NewSpace,
)
from providers.zaehlerfreunde.schemas import UpdateSpace as UpdateSpaceBody

_T = TypeVar("_T")
INVITE_BASE_URL = "https://www.zaehlerfreunde.com/invite/"


class ApiError(Exception):
    """An error answer: HTTP status and a message naming what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class SpaceRecord:
    id: str
    name: str
    address_line_one: str
    address_line_two: str | None
    postcode: str
    city: str
    category: str
    parent_space_id: str | None
    ltt_project: bool
    device_ids: list[str] = field(default_factory=list)

    def content(self) -> tuple[str | None, ...]:
        """What makes two spaces the same space."""
        return (
            self.name,
            self.address_line_one,
            self.address_line_two,
            self.postcode,
            self.city,
            self.category,
            self.parent_space_id,
        )


@dataclass(slots=True)
class DeviceRecord:
    id: str
    space_id: str
    body: NewExternalDevice
    created_at: str
    readings: dict[int, float] = field(default_factory=dict)
    first_ts: int | None = None
    last_ts: int | None = None


@dataclass(frozen=True, slots=True)
class InviteRecord:
    space_id: str
    user_email: str
    send_email: bool
    link: str


def _opt(value: object) -> str | None:
    return None if value is UNSET else str(value)


def page_of(items: list[_T], page: int, page_size: int) -> tuple[list[_T], int]:
    """Slice ``items`` for a 0-based ``page``; also return the number of pages."""
    start = page * page_size
    return items[start : start + page_size], math.ceil(len(items) / page_size)


class ZaehlerfreundeState:
    """Everything the emulator stores, with the rules the API documents."""

    def __init__(self, *, on_duplicate: Callable[[str, int], None]) -> None:
        self._on_duplicate = on_duplicate
        self.spaces: dict[str, SpaceRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}
        self.invites: dict[str, InviteRecord] = {}
        self._invited: Counter[tuple[str, str]] = Counter()
        self.reading_count = 0
        self._space_contents: Counter[tuple[str | None, ...]] = Counter()
        self._by_external: dict[str, list[str]] = {}
        self._obis = ObisIndex()

    def entity_counts(self) -> dict[str, int]:
        """Numbers of stored spaces, devices, readings and invites."""
        return {
            "spaces": len(self.spaces),
            "devices": len(self.devices),
            "readings": self.reading_count,
            "invites": len(self.invites),
        }

    # --- spaces -----------------------------------------------------------------------

    def space(self, space_id: str) -> SpaceRecord:
        """The space ``space_id``, or a 404."""
        found = self.spaces.get(space_id)
        if found is None:
            raise ApiError(404, f"space {space_id} not found")
        return found

    def create_space(self, body: NewSpace) -> SpaceRecord:
        """Store a new space; an identical existing space counts as a duplicate."""
        record = SpaceRecord(
            id=str(uuid.uuid4()),
            name=body.name,
            address_line_one=body.addressLineOne,
            address_line_two=_opt(body.addressLineTwo),
            postcode=body.postcode,
            city=body.city,
            category=body.category,
            parent_space_id=_opt(body.parentSpaceId),
            ltt_project=body.isParticipatingInLttProject is True,
        )
        content = record.content()
        if self._space_contents[content]:
            self._on_duplicate("space", 1)
        self._space_contents[content] += 1
        self.spaces[record.id] = record
        return record

    def update_space(self, space_id: str, body: UpdateSpaceBody) -> SpaceRecord:
        """Apply the fields ``body`` provides; ``null`` clears the nullable ones."""
        record = self.space(space_id)
        if body.parentSpaceId == space_id:
            raise ApiError(400, "parentSpaceId: a space cannot be its own parent")
        self._space_contents[record.content()] -= 1
        if body.name is not UNSET:
            record.name = body.name
        if body.addressLineOne is not UNSET:
            record.address_line_one = body.addressLineOne
        if body.addressLineTwo is not UNSET:
            record.address_line_two = body.addressLineTwo
        if body.postcode is not UNSET:
            record.postcode = body.postcode
        if body.city is not UNSET:
            record.city = body.city
        if body.category is not UNSET:
            record.category = body.category
        if body.parentSpaceId is not UNSET:
            record.parent_space_id = body.parentSpaceId
        self._space_contents[record.content()] += 1
        return record

    def delete_space(self, space_id: str) -> None:
        """Remove a space with its devices, their readings and its invites."""
        record = self.space(space_id)
        for device_id in list(record.device_ids):
            self.delete_device(device_id)
        self._space_contents[record.content()] -= 1
        for token in [t for t, inv in self.invites.items() if inv.space_id == space_id]:
            invite = self.invites.pop(token)
            self._invited.pop(_invitee(invite.space_id, invite.user_email), None)
        del self.spaces[space_id]

    # --- devices ----------------------------------------------------------------------

    def device(self, device_id: str) -> DeviceRecord:
        """The device ``device_id``, or a 404."""
        found = self.devices.get(device_id)
        if found is None:
            raise ApiError(404, f"device {device_id} not found")
        return found

    def create_device(self, space_id: str, body: NewExternalDevice) -> DeviceRecord:
        """Add a device to a space; a repeated ``externalDeviceId`` there is a duplicate."""
        space = self.space(space_id)
        external = body.externalDeviceId
        if external is not UNSET and any(
            self.devices[d].body.externalDeviceId == external for d in space.device_ids
        ):
            self._on_duplicate("device", 1)
        record = DeviceRecord(
            id=str(uuid.uuid4()), space_id=space_id, body=body, created_at=iso(time.time())
        )
        if body.isMainDevice:
            for other in space.device_ids:
                old = self.devices[other]
                if old.body.isMainDevice:
                    old.body = _with_main(old.body, False)
        self.devices[record.id] = record
        space.device_ids.append(record.id)
        if external is not UNSET:
            self._by_external.setdefault(external, []).append(record.id)
        return record

    def update_device_details(self, space_id: str, device_id: str, details: DeviceDetails) -> None:
        """Change the given fields of a device of this space (404 when it is not there)."""
        space = self.space(space_id)
        record = self.device(device_id)
        if record.space_id != space.id:
            raise ApiError(404, f"device {device_id} is not in space {space_id}")
        changes = {
            name: getattr(details, name)
            for name in ("deviceName", "isMainDevice", "externalDeviceId", "meteringLocationId",
                         "serialNumber")
            if getattr(details, name) is not UNSET
        }
        old_external = record.body.externalDeviceId
        if changes.get("isMainDevice"):
            for other in space.device_ids:
                if other != device_id and self.devices[other].body.isMainDevice:
                    self.devices[other].body = _with_main(self.devices[other].body, False)
        record.body = msgspec.structs.replace(record.body, **changes)
        new_external = record.body.externalDeviceId
        if new_external != old_external:
            if old_external is not UNSET:
                holders = self._by_external[old_external]
                holders.remove(device_id)
                if not holders:
                    del self._by_external[old_external]
            if new_external is not UNSET:
                self._by_external.setdefault(new_external, []).append(device_id)

    def delete_device(self, device_id: str) -> None:
        """Remove a device and its readings."""
        record = self.device(device_id)
        self.reading_count -= len(record.readings)
        self.spaces[record.space_id].device_ids.remove(device_id)
        external = record.body.externalDeviceId
        if external is not UNSET:
            holders = self._by_external[external]
            holders.remove(device_id)
            if not holders:
                del self._by_external[external]
        del self.devices[device_id]

    def _resolve(self, position: int, item: NewDeviceReading) -> DeviceRecord:
        where = f"$[{position}]"
        if item.deviceId is not UNSET:
            record = self.devices.get(item.deviceId)
            if record is None:
                raise ApiError(404, f"{where}.deviceId: device {item.deviceId} not found")
            if item.externalDeviceId not in (UNSET, record.body.externalDeviceId):
                raise ApiError(
                    400, f"{where}: deviceId and externalDeviceId name different devices"
                )
            return record
        if item.externalDeviceId is UNSET:
            raise ApiError(400, f"{where}: either deviceId or externalDeviceId is required")
        holders = self._by_external.get(item.externalDeviceId, [])
        if not holders:
            raise ApiError(
                404, f"{where}.externalDeviceId: no device with {item.externalDeviceId!r}"
            )
        if len(holders) > 1:
            raise ApiError(
                400,
                f"{where}.externalDeviceId: {len(holders)} devices carry "
                f"{item.externalDeviceId!r}; send deviceId",
            )
        return self.devices[holders[0]]

    # --- readings ---------------------------------------------------------------------

    def store_readings(self, batch: list[NewDeviceReading]) -> int:
        """Validate the whole batch, then store it; return how many readings were new.

        A reading already stored for (device, OBIS code, timestamp) keeps its first
        value and counts as a duplicate.
        """
        staged: list[tuple[DeviceRecord, list[int], list[float]]] = []
        known = self._obis.known
        for position, item in enumerate(batch):
            record = self._resolve(position, item)
            readings = item.readings
            try:
                keys = [r.timestamp << CODE_BITS | known[r.obisCode] for r in readings]
            except KeyError:
                keys = self._keys_slow(position, item)
            staged.append((record, keys, [r.value for r in readings]))
        added = 0
        for record, keys, values in staged:
            if not keys:
                continue
            store = record.readings
            before = len(store)
            deque(map(store.setdefault, keys, values), maxlen=0)
            new = len(store) - before
            added += new
            if new != len(keys):
                self._on_duplicate("reading", len(keys) - new)
            low, high = min(keys) >> CODE_BITS, max(keys) >> CODE_BITS
            if record.first_ts is None or low < record.first_ts:
                record.first_ts = low
            if record.last_ts is None or high > record.last_ts:
                record.last_ts = high
        self.reading_count += added
        return added

    def _keys_slow(self, position: int, item: NewDeviceReading) -> list[int]:
        keys = []
        for n, reading in enumerate(item.readings):
            try:
                index = self._obis.learn(reading.obisCode)
            except ValueError as exc:
                raise ApiError(400, f"$[{position}].readings[{n}].obisCode: {exc}") from None
            keys.append(reading.timestamp << CODE_BITS | index)
        return keys

    # --- invites ----------------------------------------------------------------------

    def create_invite(self, space_id: str, *, user_email: str, send_email: bool) -> InviteRecord:
        """Create an invite link to a space; the same address invited to the same space again
        (letter case aside) counts as a duplicate."""
        self.space(space_id)
        token = uuid.uuid4().hex
        invite = InviteRecord(space_id, user_email, send_email, INVITE_BASE_URL + token)
        invitee = _invitee(space_id, user_email)
        if self._invited[invitee]:
            self._on_duplicate("invite", 1)
        self._invited[invitee] += 1
        self.invites[token] = invite
        return invite


def _invitee(space_id: str, user_email: str) -> tuple[str, str]:
    return space_id, user_email.lower()


def _with_main(body: NewExternalDevice, is_main: bool) -> NewExternalDevice:
    return msgspec.structs.replace(body, isMainDevice=is_main)
