"""Bearer tokens through OAuth2 client credentials, and what every token flow shares.

A token provider keeps one token per process and fetches it once at a time,
however many requests wait for it (single flight); none puts a secret or a
token into an exception message or a ``CallRecord``. Flows of one provider
only (Zählerfreunde's JSON endpoint) live in that provider's package and use
:func:`as_auth_failure` and ``TOKEN_METHOD`` from here.
"""

from __future__ import annotations

import asyncio
import time
import warnings

import httpx
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib prefers the ``httpx2`` distribution and warns when it runs on httpx,
    # which is what this project uses.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from providers.base import AuthError, ProviderError, RejectedError
from providers.errors import error_for_exception, error_for_response
from providers.http import record_call

__all__ = ["TOKEN_METHOD", "AsyncOAuth2Client", "OAuth2ClientCredentials", "as_auth_failure"]

TOKEN_METHOD = "POST"
"""Every token endpoint we use takes a POST."""


def as_auth_failure(error: ProviderError) -> ProviderError:
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

    The renewal margin is relative to the token's lifetime: ``leeway`` as configured, but
    never more than half of ``expires_in``, so that a token shorter-lived than the margin is
    still used for half its life instead of being fetched anew for every call.
    """

    def __init__(self, *, client: AsyncOAuth2Client) -> None:
        endpoint = client.metadata.get("token_endpoint")
        if not endpoint or client.metadata.get("grant_type") != "client_credentials":
            raise ValueError("the client needs token_endpoint and grant_type=client_credentials")
        self._client = client
        self._leeway = float(client.leeway)
        self._lock = asyncio.Lock()
        self._route = httpx.URL(endpoint).path or "/"
        client.register_compliance_hook("access_token_response", self._on_token_response)

    def _on_token_response(self, response: httpx.Response) -> httpx.Response:
        started = time.perf_counter() - response.elapsed.total_seconds()
        if response.status_code >= 400:
            error = as_auth_failure(error_for_response(response, method=TOKEN_METHOD, route=self._route))
            record_call(
                method=TOKEN_METHOD,
                route=self._route,
                status=response.status_code,
                started=started,
                error=error.message,
            )
            raise error
        record_call(method=TOKEN_METHOD, route=self._route, status=response.status_code, started=started)
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
            error = error_for_exception(exc, method=TOKEN_METHOD, route=self._route)
            record_call(
                method=TOKEN_METHOD,
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
                f"{TOKEN_METHOD} {self._route} answered with no JSON token", route=self._route
            ) from None
        token = client.token
        client.leeway = self.margin(token.get("expires_in") if token is not None else None)
        access = token.get("access_token") if token is not None else None
        if not isinstance(access, str) or not access:
            raise ProviderError(
                f"{TOKEN_METHOD} {self._route} answered without an access_token",
                route=self._route,
            )
        return access

    def margin(self, expires_in: object) -> float:
        """How long before its expiry a token of ``expires_in`` seconds is renewed."""
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
            return min(self._leeway, expires_in / 2)
        return self._leeway

    async def invalidate(self, stale: str) -> None:
        """Mark the token expired when it is still ``stale``; authlib fetches one anew."""
        token = self._client.token
        if token is not None and token.get("access_token") == stale:
            token["expires_at"] = 0
