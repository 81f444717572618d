"""All configuration, read once from ``GATEWAY_*`` environment variables.

Every field of :class:`Settings` is one variable: ``database_url`` is
``GATEWAY_DATABASE_URL`` and so on. Values are validated when read; a bad
value stops start-up with a message naming the variable. Secrets are kept as
:class:`Secret`, whose ``repr`` never shows the value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ENV_PREFIX = "GATEWAY_"
EVENTS_RETENTION_MIN_S = 2 * 86_400.0
"""Events are kept at least this long: the reconciliation poll looks back a day."""


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A configuration value that must never be printed."""

    value: str

    def __repr__(self) -> str:
        return "Secret('**********')" if self.value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


EMULATED = "emulated"
"""Provider base URL meaning: run the provider's emulator inside ``gateway serve``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./gateway.db"
    redis_url: str = ""
    """Empty: embedded mode (tasks run in an in-process worker loop)."""
    admin_api_key: Secret = field(default_factory=lambda: Secret(""))
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 2_000_000
    """Request bodies above this size are refused with 413."""
    readings_max_body_bytes: int = 8_000_000
    """Body limit of ``POST /v1/readings`` only (10,000 readings per request)."""
    readings_batch_size: int = 1000
    """Readings per ``POST /devices/readings`` request to Zählerfreunde."""
    readings_future_tolerance_s: int = 300
    """How far past the server's clock a reading's timestamp may lie before it is refused."""
    readings_concurrency: int = 4
    """Reading requests one worker has in flight to Zählerfreunde at a time."""
    idempotency_ttl_s: int = 86_400
    log_level: str = "INFO"
    log_format: str = "auto"
    """``json``, ``console`` (readable in a terminal) or ``auto``: JSON unless stderr is a terminal."""
    worker_metrics_port: int = 0
    """Port of a worker's own ``/metrics`` (Prometheus) server; 0: none."""

    volue_base_url: str = EMULATED
    volue_token_url: str = ""
    """Defaults to ``/connect/token`` on the base URL's host."""
    volue_client_id: str = "volue-emulator"
    volue_client_secret: Secret = field(default_factory=lambda: Secret("volue-emulator-secret"))
    volue_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    volue_emulator_port: int = 8101

    zf_base_url: str = EMULATED
    zf_client_id: str = "zf-emulator"
    zf_client_secret: Secret = field(default_factory=lambda: Secret("zf-emulator-secret"))
    zf_emulator_port: int = 8102
    zf_token_refresh_age_s: float = 82_800.0

    upstream_timeout_s: float = 10.0
    upstream_max_connections: int = 50
    sync_max_attempts: int = 8
    sync_backoff_base_s: float = 0.5
    sync_backoff_max_s: float = 300.0
    sync_lease_s: float = 60.0
    sync_batch_size: int = 500
    worker_concurrency: int = 32
    history_retention_s: float = 7 * 86_400.0
    """Upstream call history and finished outbox tasks older than this are deleted."""

    secrets_key: Secret = field(default_factory=lambda: Secret(""))
    """Fernet key(s) encrypting webhook secrets at rest; comma-separated, newest first, to rotate.
    Unset: read from ``secrets_key_file`` (see :mod:`gateway.core.secrets_box`)."""
    secrets_key_file: str = ""
    """Unset with an embedded SQLite database: ``gateway.secrets-key`` beside the database file."""
    volue_auto_ack_lpc: bool = False
    """Acknowledge Volue LPC requests automatically with the matching report."""
    events_poll_interval_s: int = 60
    """How often the reconciliation poll reads Volue's ``GET /events`` (0: never)."""
    forward_max_age_s: int = 86_400
    """Deliveries to internal subscribers are retried until their first attempt is this old."""
    events_retention_s: float = 30 * 86_400.0
    """Volue events received longer ago than this are deleted with their targets and settled
    deliveries; the reconciliation poll does not store events created before then."""
    forward_backoff_max_s: float = 3_600.0
    forward_timeout_s: float = 10.0

    def __repr__(self) -> str:
        """The dataclass repr with passwords inside URLs masked (secrets mask themselves)."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                value = redact_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: the worker runs inside the API process."""
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def volue_emulated(self) -> bool:
        return self.volue_base_url == EMULATED

    @property
    def zf_emulated(self) -> bool:
        return self.zf_base_url == EMULATED

    def resolved_volue_base_url(self) -> str:
        if self.volue_emulated:
            return f"http://127.0.0.1:{self.volue_emulator_port}/energy-coordination/v1"
        return self.volue_base_url.rstrip("/")

    def resolved_volue_token_url(self) -> str:
        if self.volue_token_url:
            return self.volue_token_url
        parts = urlsplit(self.resolved_volue_base_url())
        return f"{parts.scheme}://{parts.netloc}/connect/token"

    def resolved_zf_base_url(self) -> str:
        if self.zf_emulated:
            return f"http://127.0.0.1:{self.zf_emulator_port}/partner"
        return self.zf_base_url.rstrip("/")


def secret_values(settings: Settings) -> list[str]:
    """The values of every :class:`Secret` setting (for the log redaction), empty ones left out."""
    return [v.value for f in fields(settings) if isinstance(v := getattr(settings, f.name), Secret) and v]


def _convert(name: str, raw: str, default: Any) -> Any:
    env = ENV_PREFIX + name.upper()
    if isinstance(default, Secret):
        return Secret(raw)
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{env} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{env} must be an integer, not {raw!r}") from None
        if value < 0:
            raise SettingsError(f"{env} must not be negative")
        return value
    if isinstance(default, float):
        try:
            number = float(raw)
        except ValueError:
            raise SettingsError(f"{env} must be a number, not {raw!r}") from None
        if not math.isfinite(number) or number < 0:
            raise SettingsError(f"{env} must be a finite number, not negative, not {raw!r}")
        return number
    return raw.strip()


def _check_url(env: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingsError(
            f"{env} must be a {'/'.join(schemes)} URL, not {redact_url(value)!r}"
        )


def redact_url(url: str) -> str:
    """``url`` with the password of its user info (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{slash}{path}"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``environ`` (default: the process environment), then apply overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    defaults = Settings()
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = _convert(f.name, raw, getattr(defaults, f.name))
    for key, value in overrides.items():
        if isinstance(getattr(defaults, key), Secret) and isinstance(value, str):
            value = Secret(value)
        values[key] = value
    settings = Settings(**values)
    _validate(settings)
    return settings


def fernet_keys(value: str) -> list[Fernet]:
    """Parse comma-separated Fernet keys; a malformed one is a ``SettingsError``."""
    keys: list[Fernet] = []
    for position, raw in enumerate(part.strip() for part in value.split(",")):
        if not raw:
            continue
        try:
            keys.append(Fernet(raw.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise SettingsError(
                f"GATEWAY_SECRETS_KEY: key {position + 1} is not a Fernet key (32 url-safe "
                "base64-encoded bytes, as cryptography's Fernet.generate_key() makes)"
            ) from None
    if not keys:
        raise SettingsError("GATEWAY_SECRETS_KEY holds no key")
    return keys


def _validate(s: Settings) -> None:
    if not (s.database_url.startswith("sqlite+aiosqlite://")
            or s.database_url.startswith("postgresql+asyncpg://")):
        raise SettingsError(
            "GATEWAY_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    if s.redis_url:
        _check_url("GATEWAY_REDIS_URL", s.redis_url, ("redis", "rediss"))
    if not s.volue_emulated:
        _check_url("GATEWAY_VOLUE_BASE_URL", s.volue_base_url, ("http", "https"))
        if s.volue_token_url:
            _check_url("GATEWAY_VOLUE_TOKEN_URL", s.volue_token_url, ("http", "https"))
    if not s.zf_emulated:
        _check_url("GATEWAY_ZF_BASE_URL", s.zf_base_url, ("http", "https"))
    for name in ("volue_client_id", "zf_client_id"):
        if not getattr(s, name):
            raise SettingsError(f"{ENV_PREFIX}{name.upper()} must not be empty")
    if s.sync_max_attempts < 1:
        raise SettingsError("GATEWAY_SYNC_MAX_ATTEMPTS must be at least 1")
    if s.max_body_bytes < 1024:
        raise SettingsError("GATEWAY_MAX_BODY_BYTES must be at least 1024")
    if not 1 <= s.readings_batch_size <= 10_000:
        raise SettingsError("GATEWAY_READINGS_BATCH_SIZE must be between 1 and 10000")
    if s.readings_concurrency < 1:
        raise SettingsError("GATEWAY_READINGS_CONCURRENCY must be at least 1")
    if not 1 <= s.port <= 65535:
        raise SettingsError("GATEWAY_PORT must be between 1 and 65535")
    if s.log_format not in ("auto", "json", "console"):
        raise SettingsError("GATEWAY_LOG_FORMAT must be auto, json or console")
    if s.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError("GATEWAY_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    if s.worker_metrics_port > 65535:
        raise SettingsError("GATEWAY_WORKER_METRICS_PORT must be between 0 and 65535")
    if s.secrets_key:
        fernet_keys(s.secrets_key.value)
    if s.forward_max_age_s < 1:
        raise SettingsError("GATEWAY_FORWARD_MAX_AGE_S must be at least 1")
    if s.events_retention_s < EVENTS_RETENTION_MIN_S or s.events_retention_s < 2 * s.forward_max_age_s:
        raise SettingsError(
            f"GATEWAY_EVENTS_RETENTION_S must be at least {EVENTS_RETENTION_MIN_S:.0f} (two days: the "
            "poll looks back one) and at least twice GATEWAY_FORWARD_MAX_AGE_S")
