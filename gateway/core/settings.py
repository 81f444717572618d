"""All configuration, read once from ``GATEWAY_*`` environment variables.

:class:`Settings` groups the values by concern (``settings.readings.batch_size``,
``settings.volue.base_url`` ...). Each group is a msgspec struct whose encoded
field names are the flat setting names: ``readings.batch_size`` is
``readings_batch_size``, read from ``GATEWAY_READINGS_BATCH_SIZE``;
:data:`SETTING_NAMES` lists them all. Values are decoded with msgspec and
checked when read; a bad value stops start-up with a message naming the
variable. Secrets are kept as :class:`Secret`, whose ``repr`` never shows the
value.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
from cryptography.fernet import Fernet

from gateway.core.targets import TargetPolicy
from gateway.core.timespan import interval_seconds

ENV_PREFIX = "GATEWAY_"
EVENTS_RETENTION_MIN_S = 2 * 86_400.0
"""Events are kept at least this long: the reconciliation poll looks back a day."""


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


class Secret:
    """A configuration value that must never be printed."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('**********')" if self.value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


VOLUE_IDENTITY_TOKEN_URL = "https://auth.identity.volue.com/connect/token"
"""Volue's OAuth2 token endpoint as the quickstart documents it (another host than the API)."""


def _loopback(host: str) -> bool:
    """Whether ``host`` names this machine (an emulator started apart, never Volue itself)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


EMULATED = "emulated"
"""Provider base URL meaning: run the provider's emulator inside ``gateway serve``."""

Count = Annotated[int, msgspec.Meta(ge=0)]
AtLeastOne = Annotated[int, msgspec.Meta(ge=1)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
"""Also checked to be finite, which msgspec cannot express."""
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


def _prefixed(prefix: str) -> Callable[[str], str]:
    return lambda name: prefix + name


def _secret(default: str = "") -> Any:
    return msgspec.field(default_factory=lambda: Secret(default))


class _Group(msgspec.Struct, frozen=True, kw_only=True):
    def __repr__(self) -> str:
        """The struct's repr with passwords inside URLs masked (secrets mask themselves)."""
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            shown.append(f"{name}={redact_url(value) if isinstance(value, str) else value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


class HttpSettings(_Group, frozen=True, kw_only=True):
    """The REST API's listener and request limits."""

    host: str = "127.0.0.1"
    port: Port = 8000
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 2_000_000
    """Request bodies above this size are refused with 413."""
    idempotency_ttl_s: Count = 86_400
    idempotency_reservation_s: Seconds = 30.0
    """A request holding an Idempotency-Key this long without answering (it crashed) loses it."""
    idempotency_wait_s: Seconds = 2.0
    """How long a copy of a request still in progress waits for its answer before a 409."""
    admin_api_key: Secret = _secret()
    rate_limit_window_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """Requests are counted per API key and scope in fixed windows of this length."""
    rate_limit_customers_read: Count = 1000
    """Requests per window one key may send to ``customers:read`` routes; 0: no limit."""
    rate_limit_customers_write: Count = 500
    rate_limit_readings_write: Count = 200
    rate_limit_invites_write: Count = 50
    rate_limit_ops: Count = 1000
    """Requests per window one key may send to ``ops`` routes (sync tasks, subscriptions)."""
    auth_failure_limit: Count = 20
    """Wrong API keys (API requests, console sign-ins) one client address, and one key prefix, may
    send per ``auth_failure_window_s`` before it gets 429; 0: no limit."""
    auth_failure_window_s: Annotated[float, msgspec.Meta(gt=0)] = 300.0

    def rate_limit(self, scope: str) -> int:
        """The per-window limit of a route scope (``customers:read`` ...); 0: none."""
        return int(getattr(self, "rate_limit_" + scope.replace(":", "_"), 0))


class StoreSettings(_Group, frozen=True, kw_only=True):
    """Where the records and the wake-ups live."""

    database_url: str = "sqlite+aiosqlite:///./gateway.db"
    redis_url: str = ""
    """Empty: embedded mode (tasks run in an in-process worker loop)."""


class VolueSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("volue_")):
    """Volue's Energy Coordination API (``GATEWAY_VOLUE_*``)."""

    base_url: str = EMULATED
    token_url: str = ""
    """Empty: ``/connect/token`` on the base URL's host when that is the emulator (``emulated``,
    or a loopback address); otherwise the identity endpoint the quickstart documents
    (``VOLUE_IDENTITY_TOKEN_URL``), not the API host."""
    client_id: NonEmpty = "volue-emulator"
    client_secret: Secret = _secret("volue-emulator-secret")
    webhook_secret: Secret = _secret()
    emulator_port: Count = 8101
    auto_ack_lpc: bool = False
    """Acknowledge Volue LPC requests automatically with the matching report."""
    webhook_url: str = ""
    """Where Volue should post events: this gateway's receiver as Volue reaches it
    (``https://.../v1/providers/volue/webhook``). ``gateway check`` warns about registered
    webhooks that point elsewhere; empty: it checks only the receiver's path."""
    max_rps: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """At most this many requests a second to Volue, shared by every worker (through Redis
    when configured); 0: no ceiling."""
    accept_legacy_signature: bool = False
    """Also accept the quickstart's ``Spark-Signature`` header (the webhook secret in clear)
    on notifications without ``x-payload-signature``; off: only the HMAC signature counts."""
    webhook_max_age_s: Annotated[float, msgspec.Meta(gt=0)] = 86_400.0
    """Notifications sent (``notificationSentUtc``) longer ago than this are refused as stale."""

    @property
    def emulated(self) -> bool:
        return self.base_url == EMULATED

    def resolved_base_url(self) -> str:
        if self.emulated:
            return f"http://127.0.0.1:{self.emulator_port}/energy-coordination/v1"
        return self.base_url.rstrip("/")

    def resolved_token_url(self) -> str:
        if self.token_url:
            return self.token_url
        parts = urlsplit(self.resolved_base_url())
        if not self.emulated and not _loopback(parts.hostname or ""):
            return VOLUE_IDENTITY_TOKEN_URL
        return f"{parts.scheme}://{parts.netloc}/connect/token"


class ZaehlerfreundeSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("zf_")):
    """The Zählerfreunde partner API (``GATEWAY_ZF_*``)."""

    base_url: str = EMULATED
    client_id: NonEmpty = "zf-emulator"
    client_secret: Secret = _secret("zf-emulator-secret")
    emulator_port: Count = 8102
    token_refresh_age_s: Seconds = 82_800.0
    max_rps: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """At most this many requests a second to Zählerfreunde, shared by every worker (through
    Redis when configured); 0: no ceiling."""

    @property
    def emulated(self) -> bool:
        return self.base_url == EMULATED

    def resolved_base_url(self) -> str:
        if self.emulated:
            return f"http://127.0.0.1:{self.emulator_port}/partner"
        return self.base_url.rstrip("/")


class UpstreamSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("upstream_")):
    """Each provider's HTTP client."""

    timeout_s: Seconds = 10.0
    max_connections: Count = 50


class SyncSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("sync_")):
    """The outbox: claiming, retries and how long finished work is kept."""

    max_attempts: AtLeastOne = 8
    """Attempts a task may spend on local failures (a worker crash, a parent not there yet)
    before it is dead-lettered; upstream failures follow ``retry_budget_s`` instead."""
    backoff_base_s: Seconds = 0.5
    backoff_max_s: Seconds = 300.0
    retry_budget_s: Seconds = 86_400.0
    """A task failing transiently upstream (timeouts, dropped connections, 5xx, 429) is retried
    until its first failure is this old, then dead-lettered."""
    circuit_failures: AtLeastOne = 5
    """Consecutive transient upstream failures that open a provider's circuit."""
    circuit_open_s: Seconds = 30.0
    """How long an open circuit pauses a provider's queue before one probe round."""
    lease_s: Seconds = 60.0
    batch_size: Count = 500
    history_retention_s: Seconds = msgspec.field(default=7 * 86_400.0, name="history_retention_s")
    """Upstream call history and finished outbox tasks older than this are deleted."""


class SyncWorkerSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("worker_")):
    """A sync worker process."""

    concurrency: Count = 32
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0
    """Port of a worker's own ``/metrics`` (Prometheus) server; 0: none."""


class ReadingsSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("readings_")):
    """Meter readings: what ``POST /v1/readings`` takes and how they go to Zählerfreunde."""

    max_body_bytes: Count = 8_000_000
    """Body limit of ``POST /v1/readings`` only (10,000 readings per request)."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    """Readings per ``POST /devices/readings`` request to Zählerfreunde."""
    linger_s: Seconds = 0.25
    """How long a new delivery batch waits for later requests to fill it before a worker may
    claim it; a batch that fills up is claimable at once (0: at once always)."""
    future_tolerance_s: Count = 300
    """How far past the server's clock a reading's timestamp may lie before it is refused."""
    concurrency: AtLeastOne = 4
    """Reading requests one worker has in flight to Zählerfreunde at a time."""
    verify_interval_s: Count = 3600
    """How often a sample of delivered readings is read back from Zählerfreunde (0: never)."""
    verify_sample: AtLeastOne = 20
    """Meters whose latest delivered day is read back per verification."""


class EnergySettings(_Group, frozen=True, kw_only=True, rename=_prefixed("energy_")):
    """Energy usage derived from readings and reported to Volue (see :mod:`gateway.energy`)."""

    resolution: str = "01:00:00"
    """Interval of the derived points, in Volue's resolution format (divides a day evenly)."""
    derive_interval_s: Count = 60
    """How often new readings are derived and changed points reported (0: never)."""


class EventsSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("events_")):
    """Volue events received by webhook and by the reconciliation poll."""

    poll_interval_s: Count = 60
    """How often the reconciliation poll reads Volue's ``GET /events`` (0: never)."""
    retention_s: Seconds = 30 * 86_400.0
    """Volue events received longer ago than this are deleted with their targets and settled
    deliveries; the reconciliation poll does not store events created before then."""


class ForwardingSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("forward_")):
    """Deliveries of events to internal subscribers."""

    max_age_s: AtLeastOne = 86_400
    """Deliveries are retried until their first attempt is this old."""
    backoff_max_s: Seconds = 3_600.0
    timeout_s: Seconds = 10.0
    allowed_targets: str = ""
    """Networks (CIDR) and host names subscriber webhooks may go to besides public addresses,
    comma-separated (see :mod:`gateway.core.targets`)."""


class ReconcileSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("reconcile_")):
    """The scheduled drift reconciliation (``gateway reconcile`` runs it by hand)."""

    interval_s: Count = 86_400
    """How often the workers compare the records with what each provider holds (0: never)."""


class SecretsSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("secrets_")):
    """The keys encrypting webhook secrets at rest (see :mod:`gateway.core.secrets_box`)."""

    key: Secret = _secret()
    """Fernet key(s); comma-separated, newest first, to rotate. Unset: read from ``key_file``."""
    key_file: str = ""
    """Unset with an embedded SQLite database: ``gateway.secrets-key`` beside the database file."""


class ConsoleSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("console_")):
    """The ops console at ``/console``: its session and CSRF cookies."""

    session_secret: Secret = _secret()
    """Signs the console's CSRF tokens; unset: a random secret per process (a form loaded from
    one API replica is then refused by another)."""
    cookie_secure: bool = False
    """Send the session and CSRF cookies only over HTTPS (set it behind TLS)."""
    session_ttl_s: Annotated[float, msgspec.Meta(ge=60)] = 28_800.0
    """A console session ends this long after sign-in."""


class LoggingSettings(_Group, frozen=True, kw_only=True, rename=_prefixed("log_")):
    level: str = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    """``json``, ``console`` (readable in a terminal) or ``auto``: JSON unless stderr is a terminal."""


def _group(kind: type[_Group]) -> Any:
    return msgspec.field(default_factory=kind)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting, grouped by concern."""

    http: HttpSettings = _group(HttpSettings)
    store: StoreSettings = _group(StoreSettings)
    volue: VolueSettings = _group(VolueSettings)
    zf: ZaehlerfreundeSettings = _group(ZaehlerfreundeSettings)
    upstream: UpstreamSettings = _group(UpstreamSettings)
    sync: SyncSettings = _group(SyncSettings)
    worker: SyncWorkerSettings = _group(SyncWorkerSettings)
    readings: ReadingsSettings = _group(ReadingsSettings)
    energy: EnergySettings = _group(EnergySettings)
    events: EventsSettings = _group(EventsSettings)
    forwarding: ForwardingSettings = _group(ForwardingSettings)
    reconcile: ReconcileSettings = _group(ReconcileSettings)
    secrets: SecretsSettings = _group(SecretsSettings)
    console: ConsoleSettings = _group(ConsoleSettings)
    logging: LoggingSettings = _group(LoggingSettings)

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: the worker runs inside the API process."""
        return not self.store.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.store.database_url.startswith("sqlite")


class _Place(msgspec.Struct, frozen=True):
    group: str
    info: msgspec.structs.FieldInfo


def _places() -> dict[str, _Place]:
    return {
        f.encode_name: _Place(group.name, f)
        for group in msgspec.structs.fields(Settings)
        for f in msgspec.structs.fields(group.type)
    }


_PLACES = _places()
SETTING_NAMES: Mapping[str, tuple[str, str]] = {
    name: (place.group, place.info.name) for name, place in _PLACES.items()
}
"""Every flat setting name and where it lives: ``readings_batch_size`` is
``("readings", "batch_size")``. The names are ``load_settings``' override keywords and,
upper-cased behind ``GATEWAY_``, the environment variables."""


def variable(name: str) -> str:
    """The environment variable of a flat setting name: ``GATEWAY_READINGS_BATCH_SIZE``."""
    return ENV_PREFIX + name.upper()


def secret_values(settings: Settings) -> list[str]:
    """The values of every :class:`Secret` setting (for the log redaction), empty ones left out."""
    values = (getattr(getattr(settings, p.group), p.info.name) for p in _PLACES.values())
    return [v.value for v in values if isinstance(v, Secret) and v]


def redact_url(url: str) -> str:
    """``url`` with the password of its user info (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{slash}{path}"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``environ`` (default: the process environment), then apply overrides.

    Overrides take the flat names of :data:`SETTING_NAMES` (``database_url=...``); a plain
    string given for a secret is wrapped in :class:`Secret`.
    """
    env = os.environ if environ is None else environ
    grouped: dict[str, dict[str, Any]] = {group: {} for group in Settings.__struct_fields__}
    for name, place in _PLACES.items():
        raw = env.get(variable(name))
        if raw is not None and raw != "":
            grouped[place.group][name] = _prepare(raw, _base_type(place.info.type))
    for name, value in overrides.items():
        if name not in _PLACES:
            raise TypeError(f"load_settings() got an unknown setting {name!r}")
        grouped[_PLACES[name].group][name] = value
    try:
        settings = msgspec.convert(grouped, Settings, strict=False, dec_hook=_decode_secret)
    except msgspec.ValidationError as exc:
        raise _refusal(exc, grouped) from None
    _check(settings)
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


_TRUE_WORDS = {"yes": "true", "on": "true", "no": "false", "off": "false"}


def _prepare(raw: str, kind: Any) -> str:
    """An environment value as msgspec should see it: trimmed (secrets as they are), and
    the yes/no/on/off spellings of a boolean as true/false."""
    if kind is Secret:
        return raw
    value = raw.strip()
    if kind is bool:
        return _TRUE_WORDS.get(value.lower(), value)
    return value


def _decode_secret(kind: type, value: Any) -> Any:
    if kind is Secret:
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return Secret(value)
    raise TypeError(f"Expected `str`, got `{type(value).__name__}`")


def _base_type(kind: Any) -> Any:
    return get_args(kind)[0] if get_origin(kind) is Annotated else kind


def _expectation(kind: Any) -> str:
    """What a value of ``kind`` must be, in words."""
    base = _base_type(kind)
    if base is bool:
        return "true or false"
    if get_origin(base) is Literal:
        *head, last = get_args(base)
        return f"{', '.join(head)} or {last}"
    meta = next((m for m in get_args(kind)[1:] if isinstance(m, msgspec.Meta)), msgspec.Meta())
    if base is float:
        return "a finite number, not negative"
    if base is int:
        if meta.le is not None:
            return f"a whole number between {meta.ge} and {meta.le}"
        return "a whole number, not negative" if meta.ge == 0 else f"a whole number of at least {meta.ge}"
    if base is str and meta.min_length:
        return "a non-empty string"
    return f"a {getattr(base, '__name__', base)}"


_PATH = re.compile(r"at `\$\.(\w+)\.(\w+)`")


def _refusal(exc: msgspec.ValidationError, grouped: dict[str, dict[str, Any]]) -> SettingsError:
    """The msgspec error restated with the variable's name and what its value must be."""
    found = _PATH.search(str(exc))
    if found is None or found.group(2) not in _PLACES:
        return SettingsError(f"{ENV_PREFIX}*: {exc}")
    group, name = found.groups()
    place = _PLACES[name]
    given = grouped[group].get(name)
    shown = "" if _base_type(place.info.type) is Secret else f", not {given!r}"
    return SettingsError(f"{variable(name)} must be {_expectation(place.info.type)}{shown}")


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingsError(
            f"{variable(name)} must be a {'/'.join(schemes)} URL, not {redact_url(value)!r}"
        )


def _check(s: Settings) -> None:
    """The checks msgspec cannot express: finite numbers, URLs, log levels, keys, and
    settings that bound each other."""
    for name, place in _PLACES.items():
        value = getattr(getattr(s, place.group), place.info.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"{variable(name)} must be {_expectation(place.info.type)}, not {value!r}")
    try:
        TargetPolicy.parse(s.forwarding.allowed_targets)
    except ValueError as exc:
        raise SettingsError(f"{variable('forward_allowed_targets')}: {exc}") from None
    if not (s.store.database_url.startswith("sqlite+aiosqlite://")
            or s.store.database_url.startswith("postgresql+asyncpg://")):
        raise SettingsError(
            "GATEWAY_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    if s.store.redis_url:
        _check_url("redis_url", s.store.redis_url, ("redis", "rediss"))
    if not s.volue.emulated:
        _check_url("volue_base_url", s.volue.base_url, ("http", "https"))
        if s.volue.token_url:
            _check_url("volue_token_url", s.volue.token_url, ("http", "https"))
    if s.volue.webhook_url:
        _check_url("volue_webhook_url", s.volue.webhook_url, ("http", "https"))
    if not s.zf.emulated:
        _check_url("zf_base_url", s.zf.base_url, ("http", "https"))
    try:
        interval_seconds(s.energy.resolution)
    except ValueError as exc:
        raise SettingsError(f"{variable('energy_resolution')}: {exc}") from None
    if s.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError("GATEWAY_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    if s.secrets.key:
        fernet_keys(s.secrets.key.value)
    if (s.events.retention_s < EVENTS_RETENTION_MIN_S
            or s.events.retention_s < 2 * s.forwarding.max_age_s):
        raise SettingsError(
            f"GATEWAY_EVENTS_RETENTION_S must be at least {EVENTS_RETENTION_MIN_S:.0f} (two days: the "
            "poll looks back one) and at least twice GATEWAY_FORWARD_MAX_AGE_S")
