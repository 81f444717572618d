"""The bearer tokens an emulator issues and checks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable


class TokenStore:
    """Opaque bearer tokens with a fixed lifetime."""

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        """Return a new random token, valid for ``ttl_s`` seconds from now."""
        now = self._clock()
        if len(self._expiry) > 10_000:
            self._expiry = {tok: exp for tok, exp in self._expiry.items() if exp > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self.ttl_s
        return token

    def is_valid(self, token: str) -> bool:
        """Whether ``token`` was issued here, is not revoked and has not expired."""
        expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> None:
        """Invalidate every token issued so far."""
        self._expiry.clear()
