"""The settings themselves: every group of :class:`Settings` with each setting's type,
default and meaning, and :class:`Secret` for the values never printed.

A group is a msgspec struct whose encoded field names are the flat setting names;
:mod:`gateway.core.settings` reads them from the environment and checks them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

EVENTS_RETENTION_MIN_S = 2 * 86_400.0
"""Events are kept at least this long: the reconciliation poll looks back a day."""


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
    circuit_failures: AtLeastOne = 3
    """The fewest transient upstream failures in a row that open a provider's circuit (more
    when failures were already common: as many as make the run unlikely at that rate)."""
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


def redact_url(url: str) -> str:
    """``url`` with the password of its user info (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{slash}{path}"
