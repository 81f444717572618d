"""Bearer-token providers: OAuth2 client credentials (Volue) and a JSON token endpoint.

Both keep one token per process and fetch it once at a time, however many
requests wait for it (single flight). Neither puts a secret or a token into an
exception message or a ``CallRecord``.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable

import httpx
import msgspec
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib prefers the ``httpx2`` distribution and warns when it runs on httpx,
    # which is what this project uses.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from providers.base import AuthError, ProviderError, RejectedError
from providers.errors import error_for_exception, error_for_response
from providers.http import decode, record_call
from providers.zaehlerfreunde.schemas import ApiToken, NewApiToken

__all__ = ["AsyncOAuth2Client", "JsonTokenProvider", "OAuth2ClientCredentials"]

_TOKEN_METHOD = "POST"


def _as_auth_failure(error: ProviderError) -> ProviderError:
    """A token endpoint refusing us (4xx other than 429) means our credentials are wrong."""
    if isinstance(error, RejectedError | AuthError):
        return AuthError(
            f"client credentials refused: {error.message}", status=error.status, route=error.route
        )
    return error


class OAuth2ClientCredentials:
    """Tokens from an OAuth2 client-credentials endpoint through authlib.

    ``client`` must be built with ``token_endpoint`` and
    ``grant_type="client_credentials"``; authlib then fetches a new token once the
    current one is within ``leeway`` seconds of its ``expires_in`` (under its own
    lock). The first fetch, which authlib leaves to the caller, is made here under
    an ``asyncio.Lock``; a 401 marks the token expired so that authlib fetches
    exactly one replacement.
    """

    def __init__(self, *, client: AsyncOAuth2Client) -> None:
        endpoint = client.metadata.get("token_endpoint")
        if not endpoint or client.metadata.get("grant_type") != "client_credentials":
            raise ValueError("the client needs token_endpoint and grant_type=client_credentials")
        self._client = client
        self._lock = asyncio.Lock()
        self._route = httpx.URL(endpoint).path or "/"
        client.register_compliance_hook("access_token_response", self._on_token_response)

    def _on_token_response(self, response: httpx.Response) -> httpx.Response:
        started = time.perf_counter() - response.elapsed.total_seconds()
        if response.status_code >= 400:
            error = _as_auth_failure(error_for_response(response, method=_TOKEN_METHOD, route=self._route))
            record_call(
                method=_TOKEN_METHOD,
                route=self._route,
                status=response.status_code,
                started=started,
                error=error.message,
            )
            raise error
        record_call(method=_TOKEN_METHOD, route=self._route, status=response.status_code, started=started)
        return response

    async def bearer(self) -> str:
        """The current access token, fetched or renewed first when needed."""
        client = self._client
        current = client.token
        if current is not None and not current.is_expired(leeway=client.leeway):
            access = current.get("access_token")
            if isinstance(access, str) and access:
                return access
        started = time.perf_counter()
        try:
            if client.token is None:
                async with self._lock:
                    if client.token is None:
                        await client.fetch_token(grant_type="client_credentials")
            else:
                await client.ensure_active_token(client.token)
        except httpx.HTTPError as exc:
            error = error_for_exception(exc, method=_TOKEN_METHOD, route=self._route)
            record_call(
                method=_TOKEN_METHOD,
                route=self._route,
                status=None,
                started=started,
                error=error.message,
            )
            raise error from None
        except OAuthError as exc:
            raise AuthError(f"client credentials refused: {exc.error}", route=self._route) from None
        except ValueError:
            raise ProviderError(
                f"{_TOKEN_METHOD} {self._route} answered with no JSON token", route=self._route
            ) from None
        token = client.token
        access = token.get("access_token") if token is not None else None
        if not isinstance(access, str) or not access:
            raise ProviderError(
                f"{_TOKEN_METHOD} {self._route} answered without an access_token",
                route=self._route,
            )
        return access

    async def invalidate(self, stale: str) -> None:
        """Mark the token expired when it is still ``stale``; authlib fetches one anew."""
        token = self._client.token
        if token is not None and token.get("access_token") == stale:
            token["expires_at"] = 0


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
            error = error_for_exception(exc, method=_TOKEN_METHOD, route=route)
            record_call(method=_TOKEN_METHOD, route=route, status=None, started=started, error=error.message)
            raise error from None
        if response.status_code >= 300:
            error = _as_auth_failure(error_for_response(response, method=_TOKEN_METHOD, route=route))
            record_call(
                method=_TOKEN_METHOD,
                route=route,
                status=response.status_code,
                started=started,
                error=error.message,
            )
            raise error
        record_call(method=_TOKEN_METHOD, route=route, status=response.status_code, started=started)
        token = decode(response, ApiToken, route=route).accessToken
        if not isinstance(token, str) or not token:
            raise ProviderError(f"{_TOKEN_METHOD} {route} answered an empty token", route=route)
        self._token = token
        self._fetched_at = self._clock()
        return token

    async def invalidate(self, stale: str) -> None:
        """Forget ``stale`` if no one has replaced it yet."""
        if self._token == stale:
            self._token = None
