"""A small async client of the gateway's own HTTP API, for the ops commands.

Responses are read into lenient structs (unknown fields ignored) so the tools keep
working against a newer gateway. Errors come back as :class:`GatewayProblem` (an RFC
9457 document's ``detail`` and ``field``) or :class:`Unreachable` (which URL). The
API key is sent, never shown.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, TypeVar

import httpx
import msgspec

DEFAULT_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
T = TypeVar("T")


class Remote(msgspec.Struct, rename="camel", kw_only=True):
    """Base of the response shapes read here: camelCase, unknown fields ignored."""


class RemoteSync(Remote):
    status: str
    last_error: str | None = None
    attempts: int = 0
    blocked_by: str | None = None
    blocked_reason: str | None = None


class RemoteRecord(Remote):
    id: str
    external_ref: str
    name: str = ""
    sync: dict[str, RemoteSync] = {}


class RemoteCustomer(RemoteRecord):
    email: str = ""
    providers: list[str] = []


class RemoteSite(RemoteRecord):
    kind: str = ""


class RemoteDevice(RemoteRecord):
    kind: str = ""
    site_id: str | None = None


class RemoteError(Remote):
    status: int
    detail: str
    title: str = ""
    field: str | None = None


class BatchItem(Remote):
    index: int
    status: int
    customer: RemoteCustomer | None = None
    error: RemoteError | None = None


class BatchResult(Remote):
    created: int
    failed: int
    results: list[BatchItem]


class CustomerPage(Remote):
    items: list[RemoteCustomer]
    next_cursor: str | None = None


class RemoteInvite(Remote):
    id: str
    site_id: str
    email: str
    status: str
    invite_link: str | None = None
    last_error: str | None = None


class _Page(Remote):
    items: list[msgspec.Raw]
    next_cursor: str | None = None


class GatewayProblem(Exception):
    """The gateway answered with an error document."""

    def __init__(self, status: int, detail: str, *, field: str | None = None, title: str = "") -> None:
        super().__init__(f"{status} {title}: {detail}" + (f" (field {field})" if field else ""))
        self.status = status
        self.detail = detail
        self.field = field
        self.title = title


class Unreachable(Exception):
    """No HTTP answer from the gateway at all."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not reach the gateway at {url}: {reason}")
        self.url = url


def settings_from(url: str | None, api_key: str | None) -> tuple[str, str]:
    """Base URL and key from the options, else ``GATEWAY_URL`` / ``GATEWAY_API_KEY``
    (``GATEWAY_ADMIN_API_KEY`` as the last resort, for a local gateway)."""
    base = (url or os.environ.get("GATEWAY_URL") or DEFAULT_URL).rstrip("/")
    key = api_key or os.environ.get("GATEWAY_API_KEY") or os.environ.get("GATEWAY_ADMIN_API_KEY") or ""
    return base, key


class GatewayClient:
    """``async with GatewayClient(url=..., api_key=...) as api:`` then :meth:`call`."""

    def __init__(self, *, url: str, api_key: str, attempts: int = 4, timeout_s: float = 30.0,
                 concurrency: int = 8) -> None:
        self.url = url
        self.attempts = attempts
        self.limit = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            base_url=url, timeout=httpx.Timeout(timeout_s, connect=5.0),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "gateway-ops-cli"},
            limits=httpx.Limits(max_connections=concurrency),
        )

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, type_: type[T], *, body: Any = None,
                   params: dict[str, str] | None = None, key: str | None = None,
                   ok: tuple[int, ...] = (200, 201, 202)) -> tuple[T, httpx.Response]:
        """Send one request (retrying lost connections and 429/502/503/504 with the same
        ``Idempotency-Key``) and decode an ``ok`` answer into ``type_``."""
        headers = {"Idempotency-Key": key} if key else {}
        content = msgspec.json.encode(body) if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        response: httpx.Response | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(_pause(response, attempt))
            try:
                async with self.limit:
                    response = await self._http.request(method, path, content=content, params=params,
                                                        headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.attempts - 1:
                    reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
                    raise Unreachable(self.url, reason) from None
                continue
            if response.status_code not in RETRY_STATUSES:
                break
        assert response is not None
        if response.status_code not in ok:
            raise _problem(response)
        try:
            return msgspec.json.decode(response.content, type=type_), response
        except msgspec.DecodeError as exc:
            raise GatewayProblem(response.status_code, f"unexpected answer from {path}: {exc}") from None


    async def collect(self, path: str, item_type: type[T], *, params: dict[str, str] | None = None,
                      page_size: int = 1000) -> list[T]:
        """Every item of a listing (``{items, nextCursor}``), following its cursors."""
        found: list[T] = []
        query = {**(params or {}), "limit": str(page_size)}
        while True:
            page, _ = await self.call("GET", path, _Page, params=query)
            found.extend(msgspec.json.decode(item, type=item_type) for item in page.items)
            if page.next_cursor is None:
                return found
            query["cursor"] = page.next_cursor


def _pause(response: httpx.Response | None, attempt: int) -> float:
    """How long to wait before attempt ``attempt``: the answer's ``Retry-After`` when it gives
    one (at most 30 s), else an exponential backoff."""
    retry_after = response.headers.get("retry-after", "") if response is not None else ""
    if retry_after.isdigit():
        return min(float(retry_after), 30.0)
    return min(0.25 * 2.0 ** attempt, 4.0)


def _problem(response: httpx.Response) -> GatewayProblem:
    try:
        doc = msgspec.json.decode(response.content, type=RemoteError)
    except msgspec.DecodeError:
        text = response.text.strip()[:200] or response.reason_phrase
        return GatewayProblem(response.status_code, text)
    return GatewayProblem(doc.status, doc.detail, field=doc.field, title=doc.title)
