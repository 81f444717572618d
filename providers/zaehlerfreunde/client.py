"""Zählerfreunde partner API endpoints, one method each, over ``ProviderHttp``.

Methods that touch an object by id return False when the provider answers 404
instead of raising, because the adapter decides what a missing object means.

Listing pages (``GET /spaces``, ``GET /spaces/{spaceId}/devices``) are read one at a time
and each page is tried again on its own when the provider answers with a transient
failure (a 5xx, 429, timeout or dropped connection): a GET changes nothing, so trying it
again is always safe, and a listing of many pages then fails only when one page fails
``page_tries`` times in a row, not whenever any page fails once. The wait before another
try is the provider's ``Retry-After`` when it gives one (seconds or an HTTP date), else a
jittered exponential backoff capped at ``page_backoff_cap_s``. A ``Retry-After`` longer
than ``page_wait_max_s`` is not waited for in the request: the page fails at once and its
error carries the provider's wish on to the caller. Once a page has failed all its tries the
provider looks down rather than flaky: until a page is read again, each page gets one try,
so lookups during an outage do not multiply the requests that reach it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from providers.base import ProviderError, TransientError
from providers.http import ProviderHttp, decode, may_repeat
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


T = TypeVar("T")


def _no_repeat() -> bool:
    return False


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


PAGE_SIZE = 100
PAGE_TRIES = 4
"""Tries per listing page before the page (and what still needs it) fails."""
PAGE_BACKOFF_S = 0.25
"""The first wait before a page is tried again when the provider names none."""
PAGE_BACKOFF_CAP_S = 4.0
"""The longest such wait."""
PAGE_WAIT_MAX_S = 30.0
"""The longest ``Retry-After`` a page waits for before it is tried again."""


class ZaehlerfreundeClient:
    """Typed calls to the partner API (base URL ending in ``/partner``).

    ``sleep`` is how a page waits before it is tried again (``asyncio.sleep``).
    """

    def __init__(
        self,
        *,
        http: ProviderHttp,
        page_size: int = PAGE_SIZE,
        page_tries: int = PAGE_TRIES,
        page_backoff_s: float = PAGE_BACKOFF_S,
        page_backoff_cap_s: float = PAGE_BACKOFF_CAP_S,
        page_wait_max_s: float = PAGE_WAIT_MAX_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.page_size = page_size
        self.page_tries = max(page_tries, 1)
        self.page_backoff_s = page_backoff_s
        self.page_backoff_cap_s = page_backoff_cap_s
        self.page_wait_max_s = page_wait_max_s
        self.sleep = sleep
        self._pages_failing = False
        """A page failed all its tries and none was read since: one try per page for now."""

    def page_delay(self, failures: int, retry_after: float | None) -> float | None:
        """How long to wait after a page's ``failures``-th failure; None: do not try again.

        The provider's ``Retry-After`` when it gave one (None when it exceeds
        ``page_wait_max_s``), else the backoff: ``page_backoff_s`` doubled per failure,
        capped at ``page_backoff_cap_s``, a random half of it taken off so that pages
        that failed together are not tried again together.
        """
        if retry_after is not None:
            return retry_after if retry_after <= self.page_wait_max_s else None
        backoff = min(self.page_backoff_cap_s, self.page_backoff_s * 2.0 ** (failures - 1))
        return backoff * (0.5 + random.random() / 2)

    async def _page(self, read: Callable[[], Awaitable[T]]) -> T:
        """``read`` one listing page, tried again after transient failures (see the module)."""
        failures = 0
        tries = 1 if self._pages_failing else self.page_tries
        while True:
            own_tries = may_repeat.set(_no_repeat)  # these tries stand in for the transport's repeat
            try:
                page = await read()
            except TransientError as error:
                failures += 1
                if failures >= tries:
                    self._pages_failing = True
                    raise
                delay = self.page_delay(failures, error.retry_after)
                if delay is None:
                    raise
            else:
                self._pages_failing = False
                return page
            finally:
                may_repeat.reset(own_tries)
            await self.sleep(delay)

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

    async def spaces_page(self, page: int) -> Spaces:
        """One page of the partner's spaces (``GET /spaces``, 0-based ``page``), with retries."""
        route = "/spaces"

        async def read() -> Spaces:
            response = await self.http.send("GET", route, params={"page": page, "pageSize": self.page_size})
            return decode(response, Spaces, route=route)

        return await self._page(read)

    async def spaces(self) -> AsyncIterator[Space]:
        """Every space of the partner, page by page (``GET /spaces``)."""
        page = 0
        while True:
            found = await self.spaces_page(page)
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

    async def devices_page(self, space_id: str, page: int) -> Devices:
        """One page of a space's devices (``GET /spaces/{spaceId}/devices``), with retries."""
        route = "/spaces/{spaceId}/devices"

        async def read() -> Devices:
            response = await self.http.send(
                "GET",
                route,
                path={"spaceId": space_id},
                params={"page": page, "pageSize": self.page_size},
            )
            return decode(response, Devices, route=route)

        return await self._page(read)

    async def devices(self, space_id: str) -> AsyncIterator[Device]:
        """Every device in a space, page by page (``GET /spaces/{spaceId}/devices``)."""
        page = 0
        while True:
            found = await self.devices_page(space_id, page)
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
