"""Encryption at rest of webhook secrets (Fernet: AES-128-CBC with HMAC-SHA256).

Where the key comes from, first match wins:

1. ``GATEWAY_SECRETS_KEY``: one or more Fernet keys, comma-separated, newest
   first. New secrets are encrypted with the first; any of them decrypts, so a
   key is rotated by putting the new one in front and re-saving the secrets.
2. ``GATEWAY_SECRETS_KEY_FILE``: a file holding such a key; created with a fresh
   key (mode 0600) when it does not exist yet.
3. Embedded mode on a SQLite file: ``gateway.secrets-key`` beside the database
   file, created on first use. This keeps a fresh machine working while the key
   stays with the data it protects.

Anything else (PostgreSQL, several worker processes) must configure a key that
every process shares; asking for the box without one raises ``SettingsError``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gateway.core.settings import Settings, SettingsError, fernet_keys

KEY_FILE_NAME = "gateway.secrets-key"


class SecretsBox:
    """Encrypts and decrypts short secrets with the configured key(s)."""

    def __init__(self, *, keys: str) -> None:
        self._fernet = MultiFernet(fernet_keys(keys))

    def seal(self, secret: str) -> str:
        """The encrypted form of ``secret``, as text for a database column."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret back; ``SettingsError`` when no configured key opens it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SettingsError(
                "a stored webhook secret cannot be decrypted with GATEWAY_SECRETS_KEY "
                "(was the key changed without keeping the old one?)"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretsBox:
        """The box for ``settings`` (see the module docstring for where the key comes from)."""
        if settings.secrets.key:
            return cls(keys=settings.secrets.key.value)
        path = key_file(settings)
        if path is None:
            raise SettingsError(
                "GATEWAY_SECRETS_KEY (or GATEWAY_SECRETS_KEY_FILE) must be set to store webhook "
                "secrets: every API and worker process needs the same key"
            )
        return cls(keys=_read_or_create(path))


def key_file(settings: Settings) -> Path | None:
    """The key file to use when no key is configured, or None when there is none."""
    if settings.secrets.key_file:
        return Path(settings.secrets.key_file)
    prefix = "sqlite+aiosqlite:///"
    if settings.embedded and settings.store.database_url.startswith(prefix):
        database = settings.store.database_url[len(prefix):]
        if database and database != ":memory:":
            return Path(database).resolve().parent / KEY_FILE_NAME
    return None


def _read_or_create(path: Path) -> str:
    try:
        return path.read_text("ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key.decode("ascii")
