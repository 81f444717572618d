"""``GatewayClient`` and ``AsyncGatewayClient``: the resource groups over one HTTP connection pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any, Self

import httpx

from . import _async_groups as ag
from . import _groups as g
from ._transport import AsyncTransport, Call, SyncTransport

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 5


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json, application/problem+json"}


class _Groups:
    customers: g.Customers
    sites: g.Sites
    devices: g.Devices
    readings: g.Readings
    invites: g.Invites
    reports: g.Reports
    programmes: g.Programmes
    sync: g.Sync
    events: g.Events
    subscriptions: g.Subscriptions

    def _bind(self, runner: g.Runner) -> None:
        self.customers = g.Customers(runner)
        self.sites = g.Sites(runner)
        self.devices = g.Devices(runner)
        self.readings = g.Readings(runner)
        self.invites = g.Invites(runner)
        self.reports = g.Reports(runner)
        self.programmes = g.Programmes(runner)
        self.sync = g.Sync(runner)
        self.events = g.Events(runner)
        self.subscriptions = g.Subscriptions(runner)


class _AsyncGroups:
    customers: ag.AsyncCustomers
    sites: ag.AsyncSites
    devices: ag.AsyncDevices
    readings: ag.AsyncReadings
    invites: ag.AsyncInvites
    reports: ag.AsyncReports
    programmes: ag.AsyncProgrammes
    sync: ag.AsyncSync
    events: ag.AsyncEvents
    subscriptions: ag.AsyncSubscriptions

    def _bind(self, runner: g.Runner) -> None:
        self.customers = ag.AsyncCustomers(runner)
        self.sites = ag.AsyncSites(runner)
        self.devices = ag.AsyncDevices(runner)
        self.readings = ag.AsyncReadings(runner)
        self.invites = ag.AsyncInvites(runner)
        self.reports = ag.AsyncReports(runner)
        self.programmes = ag.AsyncProgrammes(runner)
        self.sync = ag.AsyncSync(runner)
        self.events = ag.AsyncEvents(runner)
        self.subscriptions = ag.AsyncSubscriptions(runner)


def _next(call: Call, page: Any) -> Call | None:
    cursor = page.get("nextCursor") if isinstance(page, dict) else None
    if not cursor:
        return None
    return replace(call, params={**call.params, "cursor": cursor})


class _SyncRunner(SyncTransport):
    def iterate(self, call: Call, item: Any) -> Iterator[Any]:
        current: Call | None = call
        while current is not None:
            page = self.run(current)
            for raw in page["items"]:
                yield item.from_dict(raw)
            current = _next(current, page)


class _AsyncRunner(AsyncTransport):
    async def iterate(self, call: Call, item: Any) -> AsyncIterator[Any]:
        current: Call | None = call
        while current is not None:
            page = await self.run(current)
            for raw in page["items"]:
                yield item.from_dict(raw)
            current = _next(current, page)


class GatewayClient(_Groups):
    """The gateway's API, answering at once.

    ``GatewayClient("http://127.0.0.1:8000", "key")``; use it as a context manager or call
    :meth:`close`. Each call is retried at most ``max_retries`` times (with the same
    ``Idempotency-Key`` and body for writes) on 409 ``idempotency-in-progress``, 429, 503 and
    connection errors, waiting what ``Retry-After`` asks. ``http`` replaces the ``httpx.Client``
    (its base URL and headers are then the caller's to set).
    """

    def __init__(self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT_S,
                 max_retries: int = DEFAULT_MAX_RETRIES, http: httpx.Client | None = None) -> None:
        self.http = http or httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout)
        self._bind(_SyncRunner(self.http, max_retries))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGatewayClient(_AsyncGroups):
    """The gateway's API for asyncio: the same groups and methods as :class:`GatewayClient`,
    each answering an awaitable (``iter`` an async iterator)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT_S,
                 max_retries: int = DEFAULT_MAX_RETRIES, http: httpx.AsyncClient | None = None) -> None:
        self.http = http or httpx.AsyncClient(base_url=base_url, headers=_headers(api_key), timeout=timeout)
        self._bind(_AsyncRunner(self.http, max_retries))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
