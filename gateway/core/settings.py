"""All configuration, read once from ``GATEWAY_*`` environment variables.

:class:`Settings` groups the values by concern (``settings.readings.batch_size``,
``settings.volue.base_url`` ...). Each group is a msgspec struct whose encoded
field names are the flat setting names: ``readings.batch_size`` is
``readings_batch_size``, read from ``GATEWAY_READINGS_BATCH_SIZE``;
:data:`SETTING_NAMES` lists them all. Values are decoded with msgspec and
checked when read; a bad value stops start-up with a message naming the
variable. Secrets are kept as :class:`Secret`, whose ``repr`` never shows the
value.

The groups are declared in :mod:`gateway.core.setting_groups`; this module reads and
checks them, and is where the rest of the gateway takes them from.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
from cryptography.fernet import Fernet

from gateway.core.setting_groups import (
    EMULATED,
    EVENTS_RETENTION_MIN_S,
    VOLUE_IDENTITY_TOKEN_URL,
    AtLeastOne,
    ConsoleSettings,
    Count,
    EnergySettings,
    EventsSettings,
    ForwardingSettings,
    HttpSettings,
    LoggingSettings,
    NonEmpty,
    Port,
    ReadingsSettings,
    ReconcileSettings,
    Seconds,
    Secret,
    SecretsSettings,
    Settings,
    StoreSettings,
    SyncSettings,
    SyncWorkerSettings,
    UpstreamSettings,
    VolueSettings,
    ZaehlerfreundeSettings,
    redact_url,
)
from gateway.core.targets import TargetPolicy
from gateway.core.timespan import interval_seconds

__all__ = [
    "EMULATED",
    "ENV_PREFIX",
    "EVENTS_RETENTION_MIN_S",
    "SETTING_NAMES",
    "VOLUE_IDENTITY_TOKEN_URL",
    "AtLeastOne",
    "ConsoleSettings",
    "Count",
    "EnergySettings",
    "EventsSettings",
    "ForwardingSettings",
    "HttpSettings",
    "LoggingSettings",
    "NonEmpty",
    "Port",
    "ReadingsSettings",
    "ReconcileSettings",
    "Seconds",
    "Secret",
    "SecretsSettings",
    "Settings",
    "SettingsError",
    "StoreSettings",
    "SyncSettings",
    "SyncWorkerSettings",
    "UpstreamSettings",
    "VolueSettings",
    "ZaehlerfreundeSettings",
    "fernet_keys",
    "load_settings",
    "redact_url",
    "secret_values",
    "variable",
]

ENV_PREFIX = "GATEWAY_"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


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
