"""The Zählerfreunde adapter: sites as spaces, devices as external devices.

Zählerfreunde mints its own ids, so a create that may already have reached the
provider (``op.maybe_sent``, kept across an operator's retry, or any earlier attempt)
first looks for what it would create: a space with identical content, a device in the
space carrying our device id as ``externalDeviceId``, and adopts it instead of creating a
second one. Spaces are looked up in an index of every space kept per adapter and read
incrementally; a space's devices in a listing shared by the tasks of a round (``lookups``).

Besides the entity sink it offers readings, invites and a credentials probe
(``offers``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from gateway.core.domain import Device, EntityType, Provider, Site, TaskAction
from providers.base import (
    Capabilities,
    Capability,
    DeviceReadings,
    Held,
    Operation,
    Outcome,
    ProviderError,
    RejectedError,
    StoredReading,
    TransientError,
)
from providers.http import apply_each
from providers.zaehlerfreunde import CAPABILITIES
from providers.zaehlerfreunde import mapping as m
from providers.zaehlerfreunde.client import ZaehlerfreundeClient
from providers.zaehlerfreunde.lookups import Listed, ListingIndex, RoundIndex
from providers.zaehlerfreunde.schemas import Device as UpstreamDevice
from providers.zaehlerfreunde.schemas import NewSpace, Space

GONE_NOT_RECREATED = "{} was gone upstream; not created again, the {} is deleted or being deleted"
"""The note of an update that found its object gone while a delete of the record is queued or done."""


class ZaehlerfreundeAdapter:
    """``ProviderAdapter`` for the Zählerfreunde partner API."""

    provider: Provider = Provider.ZAEHLERFREUNDE
    capabilities: Capabilities = CAPABILITIES
    offers: frozenset[Capability] = frozenset({
        Capability.ENTITY_SINK,
        Capability.READINGS_SINK,
        Capability.READINGS_SOURCE,
        Capability.INVITE_SENDER,
        Capability.CREDENTIALS_PROBE,
        Capability.INVENTORY,
    })

    def __init__(self, *, client: ZaehlerfreundeClient, concurrency: int = 8) -> None:
        self.client = client
        self.concurrency = concurrency
        self.spaces: ListingIndex[tuple[str | None, ...]] = ListingIndex(
            self._spaces_page, page_size=client.page_size, name="Zählerfreunde spaces")
        """Every space of the partner by content, read once and then incrementally."""
        self.devices: RoundIndex[str] = RoundIndex(self._devices_page, page_size=client.page_size)
        """The devices of a space by external device id, listed once per round and space."""

    async def _spaces_page(self, page: int) -> tuple[Listed[tuple[str | None, ...]], int]:
        found = await self.client.spaces_page(page)
        return [(space.id, (m.space_key(space),)) for space in found.spaces], found.totalNumPages

    async def _devices_page(self, space_id: str, page: int) -> tuple[Listed[str], int]:
        found = await self.client.devices_page(space_id, page)
        return [(device.id, m.device_keys(device)) for device in found.devices], found.totalNumPages

    @staticmethod
    def _looks_first(op: Operation) -> bool:
        """Whether an earlier try of this create may have reached the provider."""
        return op.maybe_sent or op.attempt > 0

    async def apply(self, op: Operation) -> Outcome:
        """Create, update or delete the space or device behind ``op``."""
        entity = op.entity
        deleting = op.action is TaskAction.DELETE
        if isinstance(entity, Site):
            return await (self._delete_site(op) if deleting else self._upsert_site(op, entity))
        if isinstance(entity, Device):
            if deleting:
                return await self._delete_device(op)
            return await self._upsert_device(op, entity)
        raise RejectedError("Zählerfreunde has no object for customers")

    def create_key(self, op: Operation) -> str | None:
        """A space create's content: a space carries nothing of ours to be found by."""
        site = op.entity
        if not isinstance(site, Site) or op.action is not TaskAction.UPSERT or op.external_id is not None:
            return None
        if site.parent_site_id is not None and op.parent_external_id is None:
            return None
        parent = op.parent_external_id if site.parent_site_id is not None else None
        return m.encode_space_key(m.space_key(m.new_space(site, parent_space_id=parent)))

    async def apply_batch(self, ops: Sequence[Operation]) -> list[Outcome | ProviderError]:
        """One request per operation (the partner API has no batch writes), a few at a time."""
        return await apply_each(self.apply, ops, concurrency=self.concurrency)

    # --- spaces -------------------------------------------------------------------------

    @staticmethod
    def _parent_space(op: Operation, site: Site) -> str | None:
        if site.parent_site_id is not None and op.parent_external_id is None:
            raise TransientError(
                f"the parent site {site.parent_site_id} has no space yet; the site waits for it"
            )
        return op.parent_external_id if site.parent_site_id is not None else None

    async def _upsert_site(self, op: Operation, site: Site) -> Outcome:
        parent = self._parent_space(op, site)
        if op.external_id is not None:
            body = m.update_space(site, parent_space_id=parent)
            if await self.client.update_space(op.external_id, body):
                return Outcome(external_id=op.external_id)
            self.spaces.forget(op.external_id)
            if not op.recreate_if_gone:
                return Outcome(external_id=op.external_id, note=GONE_NOT_RECREATED.format("space", "site"))
            created = await self._create_space(op, m.new_space(site, parent_space_id=parent))
            return Outcome(external_id=created, note="space was gone upstream; created anew")
        wanted = m.new_space(site, parent_space_id=parent)
        if self._looks_first(op):
            adopted = await self._adopt_space(op, site, parent, wanted)
            if adopted is not None:
                return adopted
        return Outcome(external_id=await self._create_space(op, wanted))

    async def _create_space(self, op: Operation, body: NewSpace) -> str:
        """``POST /spaces``; the new space goes into the index (taken for the round)."""
        space_id = await self.client.create_space(body)
        self.spaces.add(space_id, (m.space_key(body),), round_id=op.round_id)
        return space_id

    async def _adopt_space(self, op: Operation, site: Site, parent: str | None,
                           wanted: NewSpace) -> Outcome | None:
        """The space an earlier try of this create made, given the site's content; or None.

        It is a space with exactly the content ``wanted`` (what this create sends), or else
        one with the content an earlier unanswered create sent (``op.sent_keys``; the site
        may have changed since), never one linked to another site. The index can still hold
        a space deleted meanwhile, so the ``PUT`` that writes the site's content is also the
        check that the space exists: on 404 the space leaves the index and the look is made
        again after a fresh read of the listing, so a space that is gone is never adopted and
        one that exists is never created a second time.
        """
        body = m.update_space(site, parent_space_id=parent)
        wanted_key = m.space_key(wanted)
        keys = dict.fromkeys([wanted_key, *(m.space_key_of(sent) for sent in op.sent_keys)])
        for key in keys:
            fresh = False
            while (found := await self.spaces.take(op.round_id, key=key, fresh=fresh,
                                                   usable=lambda i: i not in op.taken_external_ids)):
                if await self.client.update_space(found, body):
                    self.spaces.add(found, (wanted_key,), round_id=op.round_id)
                    note = ("adopted an identical space" if key == wanted_key
                            else "adopted the space an earlier try created")
                    return Outcome(external_id=found, note=note)
                self.spaces.forget(found)
                fresh = True
        return None

    async def _delete_site(self, op: Operation) -> Outcome:
        if op.external_id is not None:
            await self.client.delete_space(op.external_id)
            self.spaces.forget(op.external_id)
            return Outcome(external_id=None)
        removed = 0
        for sent in op.sent_keys:
            # A create whose answer was lost may have made the space: find it and remove it.
            key = m.space_key_of(sent)
            while (made := await self.spaces.take(op.round_id, key=key,
                                                  usable=lambda i: i not in op.taken_external_ids)):
                if await self.client.delete_space(made):
                    removed += 1
                self.spaces.forget(made)
        return Outcome(external_id=None,
                       note=f"removed {removed} space(s) an unanswered create made" if removed else None)

    # --- devices ------------------------------------------------------------------------

    @staticmethod
    def _space_of(op: Operation, device: Device) -> str:
        if device.site_id is None:
            raise RejectedError(f"device {device.id} has no site, so no Zählerfreunde space")
        if op.parent_external_id is None:
            raise TransientError(f"the site {device.site_id} has no space yet; the device waits for it")
        return op.parent_external_id

    async def _upsert_device(self, op: Operation, device: Device) -> Outcome:
        """Create the device, or update what the partner API lets us change.

        An existing device is updated through ``POST /spaces/{s}/devices/{d}/details``
        (name, main flag, meter point id, serial number); its type and medium cannot
        change upstream. If the details route answers 404 while the device is still
        listed in its space, the update is a no-op that keeps the known id.
        """
        space_id = self._space_of(op, device)
        body = m.new_external_device(device)
        if op.external_id is not None:
            details = m.device_details(device)
            if await self.client.update_device_details(space_id, op.external_id, details):
                return Outcome(external_id=op.external_id)
            async for found in self.client.devices(space_id):
                if found.id == op.external_id:
                    return Outcome(
                        external_id=op.external_id,
                        note="device details cannot be updated here; left as it is",
                    )
            if not op.recreate_if_gone:
                return Outcome(external_id=op.external_id, note=GONE_NOT_RECREATED.format("device", "device"))
            created = await self.client.create_device(space_id, body)
            return Outcome(external_id=created, note="device was gone upstream; created anew")
        if self._looks_first(op):
            adopted = await self.devices.take(op.round_id, scope=space_id, key=device.id,
                                              usable=lambda i: i not in op.taken_external_ids)
            if adopted is not None:
                return Outcome(external_id=adopted, note="adopted an existing device")
        return Outcome(external_id=await self.client.create_device(space_id, body))

    async def _delete_device(self, op: Operation) -> Outcome:
        if op.external_id is not None:
            await self.client.delete_device(op.external_id)
            if op.parent_external_id is not None:
                self.devices.forget(op.parent_external_id, op.external_id)
        elif op.maybe_sent and op.parent_external_id is not None:
            # A create whose answer was lost may have made the device: it carries our id.
            made = await self.devices.take(op.round_id, scope=op.parent_external_id, key=op.entity.id,
                                           usable=lambda i: i not in op.taken_external_ids)
            if made is not None:
                await self.client.delete_device(made)
                self.devices.forget(op.parent_external_id, made)
                return Outcome(external_id=None, note="removed the device an unanswered create made")
        return Outcome(external_id=None)

    # --- inventory ----------------------------------------------------------------------

    async def holdings(self) -> list[Held]:
        """Every space (``GET /spaces``) and the devices of each (``GET /spaces/{s}/devices``)."""
        spaces = [space async for space in self.client.spaces()]
        limit = asyncio.Semaphore(self.concurrency)

        async def devices_of(space_id: str) -> list[Held]:
            async with limit:
                return [Held(entity_type=EntityType.DEVICE, external_id=device.id,
                             parent_external_id=space_id, fields=_device_fields(device))
                        async for device in self.client.devices(space_id)]

        held = [Held(entity_type=EntityType.SITE, external_id=space.id,
                     parent_external_id=m.space_key(space)[-1], fields=_space_fields(space))
                for space in spaces]
        for part in await asyncio.gather(*(devices_of(space.id) for space in spaces)):
            held.extend(part)
        return held

    def expected_fields(self, op: Operation) -> dict[str, Any]:
        """A space's name, address, category and parent space; a device's name, type, medium,
        main flag and our id as its external device id."""
        entity = op.entity
        if isinstance(entity, Site):
            parent = op.parent_external_id if entity.parent_site_id is not None else None
            return _space_key_fields(m.space_key(m.new_space(entity, parent_space_id=parent)))
        if isinstance(entity, Device):
            body = m.new_external_device(entity)
            return {"name": body.deviceName, "deviceType": body.deviceType, "medium": body.deviceMedium,
                    "isMainDevice": body.isMainDevice, "externalDeviceId": entity.id}
        raise RejectedError("Zählerfreunde has no object for customers")

    # --- readings and invites -------------------------------------------------------------

    async def push_readings(self, items: Sequence[DeviceReadings]) -> None:
        """Send readings of many devices in one ``POST /devices/readings``."""
        if not items:
            return
        await self.client.push_readings(m.device_readings(items))

    def accepts_code(self, code: str) -> bool:
        """Whether Zählerfreunde documents ``code`` (normal form) among the codes it takes."""
        return code in self.capabilities.reading_codes

    async def stored_readings(self, device_id: str, start: int, end: int) -> list[StoredReading]:
        """``GET /devices/{deviceId}/readings`` at ``15_MIN``, registers (``METER_READING``) and
        interval quantities (``ENERGY``), each identified by its measurement, ``direction`` and
        ``timeStamp``. The document types ``label`` as free text (it is kept, not relied on) and
        does not say whether ``timeStamp`` is the start or the end of the period."""
        found: list[StoredReading] = []
        for measurement in ("METER_READING", "ENERGY"):
            for item in await self.client.device_readings(device_id, start=start, end=end,
                                                          resolution="15_MIN", measurement=measurement):
                found.append(StoredReading(cumulative=measurement == "METER_READING",
                                           direction=str(item.direction).lower(),
                                           timestamp=m.epoch_of(item.timeStamp), value=item.value,
                                           label=item.label))
        return found

    async def create_invite(self, *, space_id: str, email: str, send_email: bool) -> str:
        """Invite ``email`` to a space; return the invite link."""
        return await self.client.create_invite(space_id, m.new_invite(email=email, send_email=send_email))

    async def check_credentials(self) -> None:
        """Fetch a token from ``/auth/token`` (or find the current one young enough)."""
        await self.client.http.tokens.bearer()

    async def aclose(self) -> None:
        await self.client.aclose()


_SPACE_FIELDS = ("name", "addressLineOne", "addressLineTwo", "postcode", "city", "category", "parentSpaceId")


def _space_key_fields(key: tuple[str | None, ...]) -> dict[str, Any]:
    return dict(zip(_SPACE_FIELDS, key, strict=True))


def _space_fields(space: Space) -> dict[str, Any]:
    return _space_key_fields(m.space_key(space))


def _device_fields(device: UpstreamDevice) -> dict[str, Any]:
    keys = m.device_keys(device)
    return {"name": device.name, "deviceType": device.deviceType, "medium": device.medium,
            "isMainDevice": device.isMainDevice, "externalDeviceId": keys[0] if keys else None}
