"""Meter reading ingest: decode, check each item, store in bulk, queue the delivery.

One bad item never rejects the good ones: every item is checked on its own and
refused items come back as ``errors`` with their index. Accepted readings are
stored in bulk (:func:`gateway.readings.batches.store`: ``COPY`` on PostgreSQL,
no ORM objects), unique per (device, OBIS code, epoch second), so a reading
sent twice is counted as a duplicate and stored once.

Timestamps are ISO 8601 with a UTC offset, or epoch seconds; a number of
:data:`MS_THRESHOLD` or more is read as epoch milliseconds. Readings are kept
at one-second resolution (fractions of a second are dropped).

Delivery: readings of meters whose customer is enrolled at the provider that takes readings
(:data:`~gateway.readings.batches.DELIVERY_PROVIDER`, found by its capabilities: Zählerfreunde)
go into that customer's delivery batches of at most ``readings_batch_size``
(:mod:`gateway.readings.batches`, which also stores them); a code that provider does not take
is refused. Readings of other customers are stored without delivery work.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, NamedTuple

import msgspec
from msgspec import Meta
from sqlalchemy import Text, cast, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind
from gateway.core.errors import InvalidError
from gateway.core.obis import ObisError, parse
from gateway.core.wire import Wire, field_of, nfc
from gateway.http.deps import MAX_NESTING, nests_too_deep, not_utf8
from gateway.outbox.plan import OPEN_STATUSES, OutboxPlanner
from gateway.readings.batches import (
    ACCEPTED_CODES,
    DELIVERY_PROVIDER,
    LOOKUP,
    Batch,
    Batcher,
    Group,
    Part,
    Series,
    queue_deliveries,
    store,
)
from gateway.store.db import among, chunked, is_postgres, plan_with_values
from gateway.store.tables import CustomerRow, DeviceRow
from providers.registry import CAPABILITIES

MAX_ITEMS = 10_000
"""Readings per ``POST /v1/readings``."""
MS_THRESHOLD = 100_000_000_000
"""Epoch values at or above this (year 5138 in seconds, 1973 in milliseconds) are milliseconds."""
_DELIVERY = DELIVERY_PROVIDER.value
_DELIVERY_NAME = CAPABILITIES[DELIVERY_PROVIDER].name
_METER = DeviceKind.METER.value
"""Plain strings for the per-item loops (an enum member's ``.value`` is a descriptor call)."""


class ReadingIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """One reading as sent: the device by our id or by its externalRef."""

    obis_code: str
    timestamp: int | float | str
    value: float
    device_id: str | None = None
    device_external_ref: str | None = None


class ReadingsIn(Wire):
    readings: Annotated[list[ReadingIn], Meta(min_length=1, max_length=MAX_ITEMS)]


class ReadingsBody(Wire):
    """``POST /v1/readings`` as documented: items are checked one by one, so not constrained here."""

    readings: Annotated[list[msgspec.Raw], Meta(
        min_length=1, max_length=MAX_ITEMS,
        description="Each item a ReadingIn: {obisCode, timestamp, value, deviceId or "
                    "deviceExternalRef}. An item that does not fit is refused on its own (in "
                    "`errors`), not by refusing the request.")]


class ItemError(Wire):
    index: int
    field: str | None
    detail: str


class IngestResult(Wire):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[ItemError]


# --- decoding ------------------------------------------------------------------------------


def decode_items(body: bytes) -> tuple[list[ReadingIn | None], list[ItemError]]:
    """The items of a ``POST /v1/readings`` body; items that do not fit become errors.

    The whole body decodes in one pass when every item fits; otherwise each item
    is converted on its own, so one malformed item (a string value, an unknown
    field, ``NaN`` written as a bare JSON token) costs only itself.
    """
    if not body:
        raise InvalidError("the request needs a JSON body")
    try:
        return list(msgspec.json.decode(body, type=ReadingsIn).readings), []
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        if not_utf8(exc):
            raise InvalidError("a string in the body is not valid UTF-8") from None
    except UnicodeDecodeError:
        raise InvalidError("a string in the body is not valid UTF-8") from None
    if nests_too_deep(body):
        raise InvalidError(f"the body nests arrays or objects deeper than {MAX_NESTING} levels")
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise InvalidError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidError("the body must be a JSON object with a 'readings' array")
    extra = sorted(set(raw) - {"readings"})
    if extra:
        raise InvalidError(f"unknown field `{extra[0]}`", field=extra[0])
    items = raw.get("readings")
    if not isinstance(items, list):
        raise InvalidError("'readings' must be an array", field="readings")
    if not 1 <= len(items) <= MAX_ITEMS:
        raise InvalidError(f"'readings' must hold 1 to {MAX_ITEMS} items, not {len(items)}",
                           field="readings")
    decoded: list[ReadingIn | None] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            decoded.append(msgspec.convert(item, ReadingIn))
        except msgspec.ValidationError as exc:
            message, field = field_of(exc)
            decoded.append(None)
            errors.append(ItemError(index=index, field=field, detail=message))
    return decoded, errors


# --- checks of one item ---------------------------------------------------------------------


class Checked(NamedTuple):
    position: int
    by_ref: bool
    device: str
    code: str
    medium: str | None
    ts: int
    value: float


def epoch_seconds(value: int | float | str) -> int:
    """Whole epoch seconds from ISO 8601 (with offset), epoch seconds or epoch milliseconds."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset; add one, e.g. 'Z' or '+01:00'")
        return math.floor(moment.timestamp())
    if not math.isfinite(value):
        raise ValueError("the timestamp must be a finite number")
    if value >= MS_THRESHOLD:
        value = value / 1000
    return math.floor(value)


_CODES: dict[str, tuple[str, str | None] | str] = {}
"""OBIS codes as sent → (normalised code, medium), or why the code is refused; shared by the
requests of a process (meters send few distinct spellings)."""
_CODES_LIMIT = 4096
"""Spellings kept in :data:`_CODES`; past that, a new spelling is parsed every time it comes."""


class ItemChecker:
    """Per-item checks in plain Python, with the parsed OBIS codes cached per process."""

    def __init__(self, *, now_s: float, future_tolerance_s: int,
                 codes: dict[str, tuple[str, str | None] | str] | None = None) -> None:
        self.latest_s = now_s + future_tolerance_s
        self.future_tolerance_s = future_tolerance_s
        self._codes = _CODES if codes is None else codes

    def code(self, text: str) -> tuple[str, str | None]:
        """The normalised code and its medium; ``ValueError`` with the reason otherwise."""
        found = self._codes.get(text)
        if found is None:
            try:
                parsed = parse(text)
                medium = parsed.medium
                found = (parsed.normal, medium.value if medium is not None else None)
            except ObisError as exc:
                found = str(exc)
            if len(self._codes) < _CODES_LIMIT:
                self._codes[text] = found
        if isinstance(found, str):
            raise ValueError(found)
        return found

    def check(self, index: int, item: ReadingIn) -> Checked | ItemError:
        ts, value, device = item.timestamp, item.value, item.device_id
        if (type(ts) is int and 0 <= ts <= self.latest_s and value - value == 0.0 and device
                and item.device_external_ref is None and "\x00" not in device):
            # The common case (epoch seconds, a finite value, a device id) without the detours;
            # ``value - value`` is 0 exactly for finite values.
            found = self._codes.get(item.obis_code)
            if type(found) is tuple:
                return Checked(index, False, device, found[0], found[1], ts, value)
        by_ref = item.device_id is None
        device = item.device_external_ref if by_ref else item.device_id
        if by_ref and device:
            device = nfc(device)  # externalRefs are stored in NFC
        if (item.device_id is None) == (item.device_external_ref is None) or not device:
            return ItemError(index=index, field="deviceId",
                             detail="give exactly one of deviceId and deviceExternalRef")
        if "\x00" in device:
            field = "deviceExternalRef" if by_ref else "deviceId"
            return ItemError(index=index, field=field, detail="may not contain the NUL character")
        try:
            code, medium = self.code(item.obis_code)
        except ValueError as exc:
            return ItemError(index=index, field="obisCode", detail=str(exc))
        try:
            ts = epoch_seconds(item.timestamp)
        except ValueError as exc:
            return ItemError(index=index, field="timestamp", detail=str(exc))
        if ts < 0:
            return ItemError(index=index, field="timestamp", detail="the timestamp lies before 1970")
        if ts > self.latest_s:
            return ItemError(index=index, field="timestamp",
                             detail=f"the timestamp lies more than {self.future_tolerance_s} s "
                                    "in the future")
        if not math.isfinite(item.value):
            return ItemError(index=index, field="value", detail="the value must be a finite number")
        return Checked(index, by_ref, device, code, medium, ts, item.value)


# --- devices ---------------------------------------------------------------------------------


class DeviceInfo(NamedTuple):
    id: str
    external_ref: str
    kind: str
    medium: str | None
    customer_id: str
    providers: list[str]


async def resolve_devices(
    session: AsyncSession, ids: Iterable[str], refs: Iterable[str]
) -> tuple[dict[str, DeviceInfo], dict[str, DeviceInfo]]:
    """Live devices by id and by externalRef, with their customer's providers (few queries)."""
    by_id: dict[str, DeviceInfo] = {}
    by_ref: dict[str, DeviceInfo] = {}
    decoded: dict[str, list[str]] = {}
    """Customers' provider lists, decoded once per distinct JSON text."""
    connection = await session.connection()
    postgres = is_postgres(connection)
    columns = (col(DeviceRow.id), col(DeviceRow.external_ref), col(DeviceRow.kind), col(DeviceRow.medium),
               col(DeviceRow.customer_id), cast(col(CustomerRow.providers), Text))
    for column, wanted in ((DeviceRow.id, sorted(set(ids))), (DeviceRow.external_ref, sorted(set(refs)))):
        for part in chunked(wanted, postgres=postgres):
            rows = await connection.execute(
                select(*columns)
                .join(CustomerRow, col(CustomerRow.id) == col(DeviceRow.customer_id))
                .where(among(column, part, postgres=postgres), col(DeviceRow.deleted_at).is_(None))
            )
            for device_id, ref, kind, medium, customer_id, providers_json in rows:
                providers = decoded.get(providers_json)
                if providers is None:
                    providers = decoded[providers_json] = json.loads(providers_json)
                info = DeviceInfo(device_id, ref, kind, medium, customer_id, providers)
                by_id[info.id] = info
                by_ref[info.external_ref] = info
    return by_id, by_ref


class Lookup(NamedTuple):
    """What an ingest reads before it stores (:data:`~gateway.readings.batches.LOOKUP`)."""

    by_id: dict[str, DeviceInfo]
    by_ref: dict[str, DeviceInfo]
    open_batches: dict[str, list[Batch]]
    """Per customer, the open batch it locked for this transaction (its largest free one; PostgreSQL)."""
    waits: dict[str, str]
    """Per device, its newest open Zählerfreunde task."""


async def lookup_postgres(
    session: AsyncSession, ids: Iterable[str], refs: Iterable[str], *, batch_size: int
) -> Lookup:
    """Devices, open batches and the devices' open tasks in one statement (PostgreSQL)."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    rows = await raw.fetch(LOOKUP, sorted(set(ids)), sorted(set(refs)), batch_size, _DELIVERY,
                           [status.value for status in OPEN_STATUSES])
    by_id: dict[str, DeviceInfo] = {}
    by_ref: dict[str, DeviceInfo] = {}
    decoded: dict[str, list[str]] = {}
    """Customers' provider lists, decoded once per distinct JSON text."""
    found: list[tuple[float, Batch]] = []
    newest: dict[str, tuple[float, str]] = {}
    for kind, a, b, c, d, e, f, n in rows:
        if kind == "d":
            providers = decoded.get(f)
            if providers is None:
                providers = decoded[f] = json.loads(f)
            info = DeviceInfo(a, b, c, d, e, providers)
            by_id[a] = info
            by_ref[b] = info
        elif kind == "b":
            found.append((n, Batch(a, b, batch_size - int(n), c, size=int(n))))
        elif a not in newest or newest[a] < (n, b):
            newest[a] = (n, b)
    open_batches: dict[str, list[Batch]] = {}
    for _, batch in sorted(found, key=lambda pair: -pair[0]):
        open_batches.setdefault(batch.customer_id, []).append(batch)
    return Lookup(by_id, by_ref, open_batches, {device: task for device, (_, task) in newest.items()})


def device_problem(info: DeviceInfo, medium: str | None, code: str) -> tuple[str, str] | None:
    """Why a reading of ``code`` (normalised) cannot belong to this device: (field, detail), or None."""
    if info.kind != _METER:
        return "deviceId", f"device {info.id} is a {info.kind}, not a meter; only meters take readings"
    if medium is None:
        return "obisCode", f"{code} names no medium a meter measures (A: 1, 6, 7, 8 or 9)"
    if info.medium is not None and info.medium != medium:
        return "obisCode", f"{code} measures {medium}, but meter {info.id} measures {info.medium}"
    if _DELIVERY in info.providers and code not in ACCEPTED_CODES:
        return "obisCode", f"{_DELIVERY_NAME} does not accept the OBIS code {code}"
    return None


# --- storing -------------------------------------------------------------------------------


class Route(NamedTuple):
    """Where the readings of one device and code go: a list to join, or why they are refused."""

    series: Series | None
    into: list[Part] | None
    field: str | None = None
    detail: str = ""


def _route(c: Checked, devices: dict[str, DeviceInfo], per_customer: dict[str, list[Part]],
           quiet: list[Part], series: dict[tuple[str, str], Series]) -> Route:
    info = devices.get(c.device)
    if info is None:
        return Route(None, None, "deviceExternalRef" if c.by_ref else "deviceId", f"no device {c.device!r}")
    problem = device_problem(info, c.medium, c.code)
    if problem is not None:
        return Route(None, None, *problem)
    # A device named by id and by externalRef in one request shares one series (and its repeats).
    key = (info.id, c.code)
    own = series.get(key)
    if own is None:
        own = series[key] = Series(info.id, c.code)
    if _DELIVERY in info.providers:
        return Route(own, per_customer[info.customer_id])
    return Route(own, quiet)


async def ingest(
    session: AsyncSession, planner: OutboxPlanner, items: Sequence[ReadingIn | None],
    errors: list[ItemError], *, batch_size: int, future_tolerance_s: int, linger_s: float,
) -> IngestResult:
    """Check, store and queue one request's readings; errors are per item."""
    now = planner.now
    checker = ItemChecker(now_s=now.timestamp(), future_tolerance_s=future_tolerance_s)
    # Every id and externalRef named goes to the lookup (those of items refused below too: a
    # lookup more costs less than a pass that checks first); NUL and empty names find nothing.
    ids = {item.device_id for item in items if item is not None and item.device_id}
    refs = {nfc(item.device_external_ref) for item in items if item is not None and item.device_external_ref}
    # The lookups below take arrays of up to 10,000 ids: plan them with their values.
    connection = await session.connection()
    await plan_with_values(connection)
    wanted_ids = [d for d in ids if "\x00" not in d]
    wanted_refs = [r for r in refs if "\x00" not in r]
    found: Lookup | None = None
    if is_postgres(connection):
        found = await lookup_postgres(session, wanted_ids, wanted_refs, batch_size=batch_size)
        by_id, by_ref = found.by_id, found.by_ref
    else:
        by_id, by_ref = await resolve_devices(session, wanted_ids, wanted_refs)
    duplicates = 0
    per_customer: dict[str, list[Part]] = defaultdict(list)
    quiet: list[Part] = []
    series: dict[tuple[str, str], Series] = {}
    routes: dict[tuple[bool, str, str], Route] = {}
    """Where readings of one (how named, device, normalised code) go: decided once per request."""
    sent_as: dict[tuple[str, str], Route] = {}
    """The same routes by (device id, code as sent), for the common case."""
    latest_s = checker.latest_s
    for index, item in enumerate(items):
        if item is None:
            continue
        sent_ts, value, device = item.timestamp, item.value, item.device_id
        route: Route | None = None
        ts = 0
        if (type(sent_ts) is int and 0 <= sent_ts <= latest_s and value - value == 0.0 and device
                and item.device_external_ref is None):
            # The common case (epoch seconds, a finite value, a device id whose code was seen
            # in this request) without the detours; ``value - value`` is 0 exactly for finite
            # values, and a device id holding NUL never has a route.
            ts = sent_ts
            route = sent_as.get((device, item.obis_code))
        if route is None:
            outcome = checker.check(index, item)
            if type(outcome) is ItemError:
                errors.append(outcome)
                continue
            assert isinstance(outcome, Checked)
            ts, value = outcome.ts, outcome.value
            route_key = (outcome.by_ref, outcome.device, outcome.code)
            route = routes.get(route_key)
            if route is None:
                route = routes[route_key] = _route(outcome, by_ref if outcome.by_ref else by_id,
                                                   per_customer, quiet, series)
            if not outcome.by_ref:
                sent_as[(outcome.device, item.obis_code)] = route
        into = route.into
        if into is None:
            errors.append(ItemError(index=index, field=route.field, detail=route.detail))
            continue
        own = route.series
        assert own is not None
        stamps = own.stamps
        if ts in stamps:
            duplicates += 1
            continue
        stamps.add(ts)
        into.append((own, ts, value))
    groups: list[Group] = []
    batcher = Batcher(found.open_batches if found is not None else {}, batch_size=batch_size)
    for customer_id, group in per_customer.items():
        start = 0
        for batch, count in batcher.fill(customer_id, len(group)):
            part = group[start:start + count]
            batch.devices.update({own.device_id for own in {p[0] for p in part}})
            groups.append((batch.id, part))
            start += count
    if quiet:
        groups.append((None, quiet))
    stored = await store(session, groups, now)
    live = [batcher.batches[batch_id] for batch_id in stored if batch_id is not None]
    if live:
        await queue_deliveries(session, planner, live, stored, batch_size=batch_size, linger_s=linger_s,
                               waits=found.waits if found is not None else None)
    accepted = sum(stored.values())
    errors.sort(key=lambda e: e.index)
    sent = sum(len(parts) for _, parts in groups)
    return IngestResult(accepted=accepted, duplicates=duplicates + sent - accepted,
                        rejected=len(errors), errors=errors)
