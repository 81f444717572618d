"""Zählerfreunde's token flow: ``POST /auth/token`` with ``{clientId, clientSecret}``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import msgspec

from providers.base import ProviderError
from providers.errors import error_for_exception, error_for_response
from providers.http import decode, record_call
from providers.tokens import TOKEN_METHOD, as_auth_failure
from providers.zaehlerfreunde.schemas import ApiToken, NewApiToken


class JsonTokenProvider:
    """Tokens from a JSON endpoint taking ``{clientId, clientSecret}`` → ``{accessToken}``.

    The endpoint states no lifetime, so a token is renewed once it is older than
    ``refresh_age_s`` (Zählerfreunde tokens live one day; the default renews after
    23 hours), and whenever the provider answers 401.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        client_id: str,
        client_secret: str,
        path: str = "/auth/token",
        refresh_age_s: float = 82_800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._body = msgspec.json.encode(NewApiToken(clientId=client_id, clientSecret=client_secret))
        self._path = path
        self._refresh_age_s = refresh_age_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._fetched_at = 0.0

    def __repr__(self) -> str:
        return f"JsonTokenProvider(path={self._path!r}, refresh_age_s={self._refresh_age_s})"

    def _current(self) -> str | None:
        token = self._token
        if token is not None and self._clock() - self._fetched_at < self._refresh_age_s:
            return token
        return None

    async def bearer(self) -> str:
        """The current token, fetched first when there is none or it has grown too old."""
        token = self._current()
        if token is not None:
            return token
        async with self._lock:
            token = self._current()
            if token is not None:
                return token
            return await self._fetch()

    async def _fetch(self) -> str:
        started = time.perf_counter()
        route = self._path
        try:
            response = await self._client.post(
                route,
                content=self._body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            error = error_for_exception(exc, method=TOKEN_METHOD, route=route)
            record_call(method=TOKEN_METHOD, route=route, status=None, started=started, error=error.message)
            raise error from None
        if response.status_code >= 300:
            error = as_auth_failure(error_for_response(response, method=TOKEN_METHOD, route=route))
            record_call(
                method=TOKEN_METHOD,
                route=route,
                status=response.status_code,
                started=started,
                error=error.message,
            )
            raise error
        record_call(method=TOKEN_METHOD, route=route, status=response.status_code, started=started)
        token = decode(response, ApiToken, route=route).accessToken
        if not isinstance(token, str) or not token:
            raise ProviderError(f"{TOKEN_METHOD} {route} answered an empty token", route=route)
        self._token = token
        self._fetched_at = self._clock()
        return token

    async def invalidate(self, stale: str) -> None:
        """Forget ``stale`` if no one has replaced it yet."""
        if self._token == stale:
            self._token = None
