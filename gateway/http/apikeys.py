"""API keys: minted once, stored as SHA-256 hashes, checked with a short in-process cache."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from enum import StrEnum

import msgspec
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.store.tables import ApiKeyRow


class Scope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    READINGS_WRITE = "readings:write"
    INVITES_WRITE = "invites:write"
    OPS = "ops"
    CONSOLE = "console"
    """The ops console at ``/console`` (its pages and their actions); ``ops`` includes it."""


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the key's id (``admin`` for the configured admin key) and its scopes."""

    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return Scope.OPS.value in self.scopes or scope in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The public prefix of a minted key (``gw_<prefix>_<secret>``); ``-`` for any other key."""
    parts = key.split("_", 2)
    if len(parts) == 3 and parts[0] == "gw" and len(parts[1]) == 8 and all(
            c in "0123456789abcdef" for c in parts[1]):
        return parts[1]
    return "-"


def mint_key() -> tuple[str, str]:
    """A new key and its public prefix: ``gw_<prefix>_<secret>``."""
    prefix = secrets.token_hex(4)
    return f"gw_{prefix}_{secrets.token_urlsafe(32)}", prefix


def create_key(session: AsyncSession, name: str, scopes: Iterable[str],
               now: datetime) -> tuple[ApiKeyRow, str]:
    """Store a new key (its hash) with ``scopes``; the key itself is returned this once."""
    key, prefix = mint_key()
    row = ApiKeyRow(id=str(uuid.uuid4()), name=name, prefix=prefix, key_hash=hash_key(key),
                    scopes=sorted(set(scopes)), created_at=now)
    session.add(row)
    return row, key


async def revoke_key(session: AsyncSession, key: str, now: datetime) -> int:
    """Revoke the keys whose id or prefix is ``key``; how many there were. Running processes
    stop accepting it within their cache's time (:class:`KeyResolver`)."""
    result = await session.exec(update(ApiKeyRow)
                                .where((col(ApiKeyRow.id) == key) | (col(ApiKeyRow.prefix) == key))
                                .values(revoked_at=now))
    return result.rowcount


class KeyResolver:
    """Turns a presented key into a principal; answers from cache for ``ttl_s`` seconds.

    A revoked key therefore stops working within ``ttl_s`` in every process.
    """

    def __init__(self, *, admin_key: str = "", ttl_s: float = 10.0, max_entries: int = 10_000) -> None:
        self._admin_hash = hash_key(admin_key) if admin_key else ""
        self._ttl = ttl_s
        self._max = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(
        self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]], key: str
    ) -> Principal | None:
        """The principal of ``key``, or None; the database is asked only on a cache miss."""
        digest = hash_key(key)
        if self._admin_hash and hmac.compare_digest(digest, self._admin_hash):
            return Principal("admin", "admin", frozenset({Scope.OPS.value}))
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with sessions() as session:
            key_row = (await session.exec(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))).first()
        principal = None
        if key_row is not None and key_row.revoked_at is None:
            principal = Principal(key_row.id, key_row.name, frozenset(key_row.scopes))
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal
