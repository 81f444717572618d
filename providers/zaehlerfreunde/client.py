"""Zählerfreunde partner API endpoints, one method each, over ``ProviderHttp``.

Methods that touch an object by id return False when the provider answers 404
instead of raising, because the adapter decides what a missing object means.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from providers.base import ProviderError
from providers.http import ProviderHttp, decode
from providers.zaehlerfreunde.schemas import (
    Device,
    DeviceDetails,
    DeviceId,
    DeviceReading,
    Devices,
    Measurement,
    NewDeviceReading,
    NewExternalDevice,
    NewSpace,
    NewSpaceInvite,
    Resolution,
    Space,
    SpaceId,
    SpaceInviteLink,
    Spaces,
    UpdateSpace,
)

_NOT_FOUND = (404,)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
PAGE_SIZE = 100


class ZaehlerfreundeClient:
    """Typed calls to the partner API (base URL ending in ``/partner``)."""

    def __init__(self, *, http: ProviderHttp, page_size: int = PAGE_SIZE) -> None:
        self.http = http
        self.page_size = page_size

    async def create_space(self, body: NewSpace) -> str:
        """``POST /spaces``; the new space's id."""
        route = "/spaces"
        response = await self.http.send("POST", route, body=body)
        space_id = decode(response, SpaceId, route=route).spaceId
        if not isinstance(space_id, str) or not space_id:
            raise ProviderError(f"POST {route} answered without a spaceId", route=route)
        return space_id

    async def update_space(self, space_id: str, body: UpdateSpace) -> bool:
        """``PUT /spaces/{spaceId}``; False when the space does not exist."""
        response = await self.http.send(
            "PUT", "/spaces/{spaceId}", path={"spaceId": space_id}, body=body, tolerate=_NOT_FOUND
        )
        return response.status_code != 404

    async def delete_space(self, space_id: str) -> bool:
        """``DELETE /spaces/{spaceId}`` (its devices go with it); False when already gone."""
        response = await self.http.send(
            "DELETE", "/spaces/{spaceId}", path={"spaceId": space_id}, tolerate=_NOT_FOUND
        )
        return response.status_code != 404

    async def spaces(self) -> AsyncIterator[Space]:
        """Every space of the partner, page by page (``GET /spaces``)."""
        route = "/spaces"
        page = 0
        while True:
            response = await self.http.send("GET", route, params={"page": page, "pageSize": self.page_size})
            found = decode(response, Spaces, route=route)
            for space in found.spaces:
                yield space
            page += 1
            if page >= found.totalNumPages or not found.spaces:
                return

    async def create_device(self, space_id: str, body: NewExternalDevice) -> str:
        """``POST /spaces/{spaceId}/devices``; the new device's id."""
        route = "/spaces/{spaceId}/devices"
        response = await self.http.send("POST", route, path={"spaceId": space_id}, body=body)
        device_id = decode(response, DeviceId, route=route).deviceId
        if not isinstance(device_id, str) or not device_id:
            raise ProviderError(f"POST {route} answered without a deviceId", route=route)
        return device_id

    async def update_device_details(self, space_id: str, device_id: str, body: DeviceDetails) -> bool:
        """``POST /spaces/{spaceId}/devices/{deviceId}/details``; False on 404."""
        response = await self.http.send(
            "POST",
            "/spaces/{spaceId}/devices/{deviceId}/details",
            path={"spaceId": space_id, "deviceId": device_id},
            body=body,
            tolerate=_NOT_FOUND,
        )
        return response.status_code != 404

    async def devices(self, space_id: str) -> AsyncIterator[Device]:
        """Every device in a space, page by page (``GET /spaces/{spaceId}/devices``)."""
        route = "/spaces/{spaceId}/devices"
        page = 0
        while True:
            response = await self.http.send(
                "GET",
                route,
                path={"spaceId": space_id},
                params={"page": page, "pageSize": self.page_size},
            )
            found = decode(response, Devices, route=route)
            for device in found.devices:
                yield device
            page += 1
            if page >= found.totalNumPages or not found.devices:
                return

    async def delete_device(self, device_id: str) -> bool:
        """``DELETE /devices/{deviceId}``; False when already gone."""
        response = await self.http.send(
            "DELETE", "/devices/{deviceId}", path={"deviceId": device_id}, tolerate=_NOT_FOUND
        )
        return response.status_code != 404

    async def push_readings(self, body: Sequence[NewDeviceReading]) -> None:
        """``POST /devices/readings`` with one entry per device."""
        await self.http.send("POST", "/devices/readings", body=list(body))

    async def device_readings(self, device_id: str, *, start: int, end: int, resolution: Resolution,
                              measurement: Measurement) -> list[DeviceReading]:
        """``GET /devices/{deviceId}/readings`` between ``start`` and ``end`` (epoch seconds)."""
        route = "/devices/{deviceId}/readings"
        response = await self.http.send("GET", route, path={"deviceId": device_id}, params={
            "startTime": _iso(start), "endTime": _iso(end), "resolution": resolution,
            "measurement": measurement})
        return decode(response, list[DeviceReading], route=route)

    async def create_invite(self, space_id: str, body: NewSpaceInvite) -> str:
        """``POST /spaces/{spaceId}/invites``; the invite link."""
        route = "/spaces/{spaceId}/invites"
        response = await self.http.send("POST", route, path={"spaceId": space_id}, body=body)
        link = decode(response, SpaceInviteLink, route=route).inviteLink
        if not isinstance(link, str) or not link:
            raise ProviderError(f"POST {route} answered without an inviteLink", route=route)
        return link

    async def aclose(self) -> None:
        await self.http.aclose()
