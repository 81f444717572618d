"""What the console's pages show, read straight from the gateway's tables.

Each function returns plain dataclasses for a template; nothing here writes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import Provider, TaskStatus
from gateway.core.errors import NotFoundError
from gateway.core.settings import Settings
from gateway.customers import reads
from gateway.observability.metrics import REGISTRY, token_routes
from gateway.outbox.circuit import CircuitState
from gateway.outbox.queues import QUEUES, READINGS_QUEUE
from gateway.readings.service import delivery_of
from gateway.store.db import on_postgres
from gateway.store.event_tables import VolueEventRow
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import (
    CustomerRow,
    DeviceRow,
    OutboxTaskRow,
    ProviderLinkRow,
    SiteRow,
    UpstreamCallRow,
)

HEALTH_WINDOW = timedelta(hours=1)
"""The window of the error rate and latency on the overview."""
CHART_HOURS = 24
OPEN = (TaskStatus.PENDING.value, TaskStatus.RUNNING.value, TaskStatus.BLOCKED.value, TaskStatus.DEAD.value)


# --- overview -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    provider: str
    token: str
    """The last token fetch: "ok 12:03:04Z", "failed (401) ...", or that none was made."""
    token_ok: bool | None
    calls: int
    errors: int
    error_rate: float
    latency_avg_ms: float | None
    latency_p95_ms: float | None
    circuit: str
    """closed, half-open or open, as the worker sending the requests holds it (this process's, or
    the arq workers' through Redis); "unknown" with neither."""
    queue: dict[str, int]
    """Open tasks of the provider's queues by status (pending, running, blocked, dead)."""


@dataclass(frozen=True, slots=True)
class Overview:
    providers: list[ProviderHealth]
    queues: dict[str, dict[str, int]]
    hours: list[str]
    ingested: list[float]
    delivered: list[float]
    events: list[VolueEventRow]


def circuit_state(provider: str) -> str:
    """The circuit of ``provider`` as this process's worker left it in the metrics registry."""
    value = REGISTRY.get_sample_value("gateway_provider_circuit_state", {"provider": provider})
    if value is None:
        return "not in this process"
    return CircuitState(int(value)).name.lower().replace("_", "-")


def p95(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _hour_bucket(postgres: bool, column: Any) -> Any:
    """An expression naming the UTC hour of a timestamp column, as ``YYYY-MM-DDTHH``."""
    if postgres:
        return func.to_char(func.date_trunc("hour", column), 'YYYY-MM-DD"T"HH24')
    return func.strftime("%Y-%m-%dT%H", column)


async def overview(session: AsyncSession, settings: Settings, now: datetime,
                   circuits: Mapping[str, str] | None = None) -> Overview:
    """Provider health, queues, readings per hour and the latest events; ``circuits`` is each
    provider's circuit as the workers hold it (else this process's metrics registry is read)."""
    since = now - HEALTH_WINDOW
    queues: dict[str, dict[str, int]] = {q: {s: 0 for s in OPEN} for q in QUEUES}
    counted = await session.execute(
        select(col(OutboxTaskRow.provider), col(OutboxTaskRow.status), func.count())
        .where(col(OutboxTaskRow.status).in_(OPEN))
        .group_by(col(OutboxTaskRow.provider), col(OutboxTaskRow.status)))
    for queue, status, number in counted.all():
        queues.setdefault(queue, {s: 0 for s in OPEN})[status] = number
    tokens = token_routes(settings)
    health: list[ProviderHealth] = []
    for provider in Provider:
        calls = (await session.execute(
            select(col(UpstreamCallRow.status), col(UpstreamCallRow.latency_ms))
            .where(col(UpstreamCallRow.provider) == provider.value, col(UpstreamCallRow.at) >= since)
            .order_by(col(UpstreamCallRow.id).desc()).limit(20_000))).all()
        errors = sum(1 for status, _ in calls if status is None or status >= 400)
        latencies = [latency for _, latency in calls]
        token_call = (await session.exec(
            select(UpstreamCallRow)
            .where(col(UpstreamCallRow.provider) == provider.value,
                   col(UpstreamCallRow.route) == tokens[provider.value])
            .order_by(col(UpstreamCallRow.id).desc()).limit(1))).first()
        if token_call is None:
            token, token_ok = "no token fetched yet (or not within the call history)", None
        else:
            token_ok = token_call.status is not None and 200 <= token_call.status < 300
            at = as_utc(token_call.at).strftime("%Y-%m-%d %H:%M:%SZ")
            token = f"fetched {at}" if token_ok else (
                f"failed {at} ({token_call.status or 'no answer'}): {token_call.error or ''}".rstrip(": "))
        own_queues = [q for q in QUEUES if q == provider.value or (
            provider is Provider.ZAEHLERFREUNDE and q == READINGS_QUEUE)]
        depth = {s: sum(queues[q][s] for q in own_queues) for s in OPEN}
        health.append(ProviderHealth(
            provider=provider.value, token=token, token_ok=token_ok, calls=len(calls), errors=errors,
            error_rate=errors / len(calls) if calls else 0.0,
            latency_avg_ms=sum(latencies) / len(latencies) if latencies else None,
            latency_p95_ms=p95(latencies),
            circuit=(circuits or {}).get(provider.value) or circuit_state(provider.value), queue=depth))
    hours, ingested, delivered = await readings_per_hour(session, now)
    events = list(await session.exec(
        select(VolueEventRow).order_by(col(VolueEventRow.received_at).desc()).limit(10)))
    return Overview(providers=health, queues=queues, hours=hours, ingested=ingested, delivered=delivered,
                    events=events)


async def readings_per_hour(session: AsyncSession,
                            now: datetime) -> tuple[list[str], list[float], list[float]]:
    """Readings received and delivered in each of the last :data:`CHART_HOURS` hours (UTC)."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=CHART_HOURS - 1)
    keys = [(start + timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(CHART_HOURS)]
    postgres = on_postgres(session)
    received_hour = _hour_bucket(postgres, ReadingRow.received_at)
    received = dict((await session.execute(
        select(received_hour, func.count()).where(col(ReadingRow.received_at) >= start)
        .group_by(received_hour))).all())
    delivered_at = func.coalesce(ReadingRow.delivered_at, ReadingBatchRow.delivered_at)
    delivered_hour = _hour_bucket(postgres, delivered_at)
    delivered = dict((await session.execute(
        select(delivered_hour, func.count())
        .select_from(ReadingRow)
        .outerjoin(ReadingBatchRow, col(ReadingBatchRow.id) == ReadingRow.batch_id)
        .where(delivered_at >= start)
        .group_by(delivered_hour))).all())
    labels = [f"{key[-2:]}:00" for key in keys]
    return (labels, [float(received.get(k, 0)) for k in keys], [float(delivered.get(k, 0)) for k in keys])


# --- a meter --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadingView:
    obis_code: str
    at: datetime
    value: float
    received_at: datetime
    delivery: str
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class MeterPage:
    device: DeviceRow
    customer: CustomerRow
    links: list[ProviderLinkRow]
    readings: list[ReadingView]
    """Newest first."""
    delivery_counts: dict[str, int]
    charts: list[tuple[str, list[str], list[float]]]
    """Per OBIS code: the code, the interval labels and the consumption in each interval."""


READINGS_SHOWN = 500


async def meter_page(session: AsyncSession, device_id: str) -> MeterPage:
    device = await session.get(DeviceRow, device_id)
    if device is None or device.deleted_at is not None:
        raise NotFoundError(f"device {device_id} not found")
    customer = await reads.get_customer(session, device.customer_id)
    links = (await reads.links_for(session, [device.id])).get(device.id, [])
    r, b, t = ReadingRow, ReadingBatchRow, OutboxTaskRow
    rows = (await session.execute(
        sa_select(col(r.obis_code), col(r.ts), col(r.value), col(r.received_at),
               func.coalesce(r.delivered_at, b.delivered_at).label("delivered_at"), col(r.batch_id),
               col(t.status), col(t.last_error))
        .outerjoin(b, col(b.id) == r.batch_id)
        .outerjoin(t, and_(col(t.entity_id) == r.batch_id, col(t.provider) == READINGS_QUEUE))
        .where(col(r.device_id) == device_id)
        .order_by(col(r.ts).desc(), col(r.obis_code)).limit(READINGS_SHOWN))).all()
    readings: list[ReadingView] = []
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        delivery = delivery_of(row.delivered_at, row.batch_id, row.status, row.last_error)
        counts[delivery.status.value] += 1
        readings.append(ReadingView(
            obis_code=row.obis_code, at=datetime.fromtimestamp(row.ts, UTC), value=row.value,
            received_at=as_utc(row.received_at), delivery=delivery.status.value,
            delivered_at=delivery.delivered_at, last_error=delivery.last_error))
    return MeterPage(device=device, customer=customer, links=links, readings=readings,
                     delivery_counts=dict(counts), charts=consumption(readings))


def consumption(readings: Sequence[ReadingView],
                max_codes: int = 3) -> list[tuple[str, list[str], list[float]]]:
    """Per OBIS code (the most read first), what the register counted between consecutive readings."""
    by_code: dict[str, list[ReadingView]] = defaultdict(list)
    for reading in readings:
        by_code[reading.obis_code].append(reading)
    charts = []
    for code, series in sorted(by_code.items(), key=lambda item: (-len(item[1]), item[0]))[:max_codes]:
        ordered = sorted(series, key=lambda v: v.at)
        if len(ordered) < 2:
            continue
        labels = [v.at.strftime("%m-%d %H:%M") for v in ordered[1:]]
        deltas = [later.value - earlier.value for earlier, later in itertools.pairwise(ordered)]
        charts.append((code, labels, deltas))
    return charts


# --- onboarding progress --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    external_ref: str
    customer: CustomerRow | None
    counts: dict[str, int]
    """Provider links of the customer's records by sync status."""

    @property
    def done(self) -> bool:
        return self.customer is not None and bool(self.counts) and set(self.counts) <= {"synced"}

    @property
    def stuck(self) -> bool:
        return bool({"failed", "blocked"} & set(self.counts))


async def onboarding_progress(session: AsyncSession, refs: Sequence[str]) -> list[Progress]:
    """How far each customer (by externalRef) of an onboarded file has synced."""
    customers = {c.external_ref: c for c in await session.exec(select(CustomerRow).where(
        col(CustomerRow.external_ref).in_(list(refs)), col(CustomerRow.deleted_at).is_(None)))}
    ids = [c.id for c in customers.values()]
    owner: dict[str, str] = {c.id: c.id for c in customers.values()}
    for table in (SiteRow, DeviceRow):
        found = await session.execute(select(col(table.id), col(table.customer_id)).where(
            col(table.customer_id).in_(ids), col(table.deleted_at).is_(None)))
        for entity_id, customer_id in found.all():
            owner[entity_id] = customer_id
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    links = await reads.links_for(session, list(owner))
    for entity_id, entity_links in links.items():
        for link in entity_links:
            counts[owner[entity_id]][link.status] += 1
    return [Progress(external_ref=ref, customer=customers.get(ref),
                     counts=dict(counts[customers[ref].id]) if ref in customers else {})
            for ref in refs]
