"""Prometheus metrics of one process, in one registry, and ``GET /metrics``.

The API serves them at ``/metrics``; a worker serves its own on
``GATEWAY_WORKER_METRICS_PORT``. What is counted:

* HTTP requests by method, route template and status, with latency (the API);
* upstream calls by provider, method, route and status, with latency, and
  token fetches by provider and outcome (the sync engine, from its call records);
* task attempts by provider, kind and outcome, retries and dead letters;
* outbox depth by provider, kind and status, and the age of the oldest task not
  yet done (a snapshot read from the database by the relay and on each scrape);
* each provider's circuit state and concurrency limit in this worker process;
* readings accepted, rejected and delivered, and webhook deliveries (counted by
  the code that handles them through :func:`count_readings` and
  :func:`count_webhook_delivery`);
* drift: the objects the last reconciliation of each provider found missing, unexpected
  or differing (:func:`observe_drift`), and the records whose link reads ``drifted``
  (from the database, with the outbox snapshot).
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import structlog
from litestar import Request, Response, get
from litestar.enums import ScopeType
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import EntityType, Provider, SyncStatus, TaskStatus
from gateway.core.settings import Settings
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, table_of

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from providers.base import CallRecord

log = logging.getLogger("gateway.metrics")
sync_log = structlog.stdlib.get_logger("gateway.sync")

REGISTRY = CollectorRegistry()
"""Every metric of the gateway; nothing goes to prometheus_client's default registry."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter("gateway_http_requests", "HTTP requests served, by route template and status.",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("gateway_http_request_duration_seconds", "Time to serve an HTTP request.",
                         ["method", "route"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
UPSTREAM_CALLS = Counter("gateway_upstream_calls", "Calls to a provider, by route template and status "
                         "(status 'error': no answer).", ["provider", "method", "route", "status"],
                         registry=REGISTRY)
UPSTREAM_LATENCY = Histogram("gateway_upstream_call_duration_seconds", "Time of one call to a provider.",
                             ["provider", "method", "route"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
TOKEN_FETCHES = Counter("gateway_token_fetches", "Bearer tokens fetched from a provider, by outcome.",
                        ["provider", "outcome"], registry=REGISTRY)
TASK_ATTEMPTS = Counter("gateway_task_attempts", "Outbox task attempts finished, by outcome "
                        "(done, retry, dead).", ["provider", "kind", "outcome"], registry=REGISTRY)
TASK_RETRIES = Counter("gateway_task_retries", "Outbox tasks put back to wait for another attempt.",
                       ["provider", "kind"], registry=REGISTRY)
DEAD_LETTERS = Counter("gateway_task_dead_letters", "Outbox tasks dead-lettered (out of attempts or "
                       "refused).", ["provider", "kind"], registry=REGISTRY)
READINGS = Counter("gateway_readings", "Meter readings by outcome: accepted by the API, rejected by the "
                   "API, delivered to a provider; read back from Zählerfreunde by the delivery check "
                   "(verified), found missing there (missing) and sent again (resent).", ["outcome"],
                   registry=REGISTRY)
WEBHOOK_DELIVERIES = Counter("gateway_webhook_deliveries", "Webhook deliveries received, by provider and "
                             "outcome.", ["provider", "outcome"], registry=REGISTRY)

READING_OUTCOMES = ("accepted", "rejected", "delivered", "verified", "missing", "resent")
TASK_OUTCOMES = ("done", "retry", "dead")


def _initialise() -> None:
    """Create the label sets every dashboard expects, so they read 0 rather than missing."""
    for outcome in READING_OUTCOMES:
        READINGS.labels(outcome)
    for provider in Provider:
        for ok in ("ok", "failed"):
            TOKEN_FETCHES.labels(provider.value, ok)
        for kind in EntityType:
            TASK_RETRIES.labels(provider.value, kind.value)
            DEAD_LETTERS.labels(provider.value, kind.value)
            for outcome in TASK_OUTCOMES:
                TASK_ATTEMPTS.labels(provider.value, kind.value, outcome)
    for outcome in ("accepted", "rejected"):
        WEBHOOK_DELIVERIES.labels(Provider.VOLUE.value, outcome)


_initialise()


def count_readings(outcome: str, count: int = 1) -> None:
    """Count readings ``accepted`` or ``rejected`` by the API, ``delivered`` to a provider, or
    ``verified``, ``missing`` and ``resent`` by the delivery check."""
    if outcome not in READING_OUTCOMES:
        raise ValueError(f"readings outcome must be one of {READING_OUTCOMES}, not {outcome!r}")
    if count > 0:
        READINGS.labels(outcome).inc(count)


def count_webhook_delivery(provider: str, outcome: str) -> None:
    """Count one webhook delivery received from ``provider`` (``accepted``, ``rejected`` ...)."""
    WEBHOOK_DELIVERIES.labels(provider, outcome).inc()


# --- HTTP ---------------------------------------------------------------------------------

_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    """Count one served request and its latency."""
    key = (method, route, status)
    children = _http_children.get(key)
    if children is None:
        children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
        _http_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


class HttpMetricsMiddleware:
    """ASGI middleware: request count and latency by route template (never the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("path_template") or "unmatched"
            observe_http(scope["method"], route, status,
                         time.perf_counter() - started)


# --- the sync engine ----------------------------------------------------------------------


@lru_cache(maxsize=8)
def token_routes(settings: Settings) -> dict[str, str]:
    """The token endpoint route of each provider, as its call records name it."""
    return {
        Provider.VOLUE.value: urlsplit(settings.volue.resolved_token_url()).path or "/",
        Provider.ZAEHLERFREUNDE.value: "/auth/token",
    }


class RoundRecord(Protocol):
    """What :func:`observe_round` reads of one task's round (the outbox engine's ``RoundResult``)."""

    @property
    def task(self) -> OutboxTaskRow: ...

    @property
    def outcome(self) -> object | None: ...

    @property
    def calls(self) -> Sequence[CallRecord]: ...


def observe_round(results: Sequence[RoundRecord], finished: Collection[str], dead: Mapping[str, str],
                  *, settings: Settings) -> None:
    """Count a recorded round: upstream calls and token fetches from the call records, and
    the outcome of each task this worker still held (``finished``). ``dead`` maps the tasks
    dead-lettered in the round to the reason; each one held is also logged as a warning."""
    tokens = token_routes(settings)
    seen: set[int] = set()
    # Counted per label set first, then added once each: a round has hundreds of calls and
    # tasks under a handful of label sets.
    calls: Tally[tuple[str, str, str, str]] = Tally()
    attempts: Tally[tuple[str, str, str]] = Tally()
    latency: dict[tuple[str, str, str], Any] = {}
    for result in results:
        task = result.task
        provider, kind = task.provider, task.entity_type
        if id(result.calls) not in seen:
            # the tasks of one batch share one call list: count its calls once
            seen.add(id(result.calls))
            for call in result.calls:
                status = str(call.status) if call.status is not None else "error"
                calls[(provider, call.method, call.route, status)] += 1
                route = (provider, call.method, call.route)
                histogram = latency.get(route)
                if histogram is None:
                    histogram = latency[route] = UPSTREAM_LATENCY.labels(*route)
                histogram.observe(call.latency_ms / 1000.0)
                if call.route == tokens.get(provider):
                    ok = call.status is not None and 200 <= call.status < 300
                    TOKEN_FETCHES.labels(provider, "ok" if ok else "failed").inc()
        task_id = task.id
        if task_id not in finished:
            continue
        if result.outcome is not None:
            attempts[(provider, kind, "done")] += 1
        elif task_id in dead:
            TASK_ATTEMPTS.labels(provider, kind, "dead").inc()
            DEAD_LETTERS.labels(provider, kind).inc()
            sync_log.warning("task dead-lettered", task_id=task.id, customer_id=task.customer_id,
                             provider=provider, kind=kind, entity_id=task.entity_id,
                             attempts=task.attempts, reason=dead[task.id])
        else:
            attempts[(provider, kind, "retry")] += 1
            TASK_RETRIES.labels(provider, kind).inc()
    for labels, n in calls.items():
        UPSTREAM_CALLS.labels(*labels).inc(n)
    for task_labels, n in attempts.items():
        TASK_ATTEMPTS.labels(*task_labels).inc(n)


CIRCUIT_STATE = Gauge("gateway_provider_circuit_state",
                      "Circuit of each provider in this process: 0 closed, 1 half-open, 2 open.",
                      ["provider"], registry=REGISTRY)
CONCURRENCY_LIMIT = Gauge("gateway_provider_concurrency_limit",
                          "Requests this process may have in flight to each provider (adaptive).",
                          ["provider"], registry=REGISTRY)


class _Limit(Protocol):
    @property
    def current(self) -> int: ...


class GuardRecord(Protocol):
    """What :func:`observe_guards` reads of a provider's guard (``gateway.outbox.circuit``)."""

    @property
    def state(self) -> int: ...

    @property
    def limit(self) -> _Limit: ...


def observe_guards(guards: Mapping[str, GuardRecord]) -> None:
    """Set the circuit and concurrency gauges from each provider's guard."""
    for provider, guard in guards.items():
        CIRCUIT_STATE.labels(provider).set(int(guard.state))
        CONCURRENCY_LIMIT.labels(provider).set(guard.limit.current)


# --- the outbox ---------------------------------------------------------------------------

OPEN_STATUSES = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.BLOCKED, TaskStatus.DEAD)
STUCK = (TaskStatus.BLOCKED, TaskStatus.DEAD)
"""Open tasks that will not move without ops: counted, but left out of the oldest-pending age."""


class OutboxCollector(Collector):
    """Outbox depth and the age of the oldest open task, from the last database snapshot.

    Label sets seen once keep being reported (as 0) so that a drained queue reads
    0 rather than disappearing.
    """

    def __init__(self) -> None:
        self._depth: dict[tuple[str, str, str], float] = {
            (p.value, k.value, s): 0.0 for p in Provider for k in EntityType for s in OPEN_STATUSES
        }
        self._oldest: dict[tuple[str, str], float] = {(p.value, k.value): 0.0
                                                      for p in Provider for k in EntityType}
        self.refreshed_at: datetime | None = None

    def update(self, rows: Iterable[tuple[str, str, str, int, datetime | None]], *, now: datetime) -> None:
        """Replace the snapshot with ``(provider, kind, status, count, oldest created_at)`` rows."""
        depth = dict.fromkeys(self._depth, 0.0)
        oldest = dict.fromkeys(self._oldest, 0.0)
        for provider, kind, status, count, created in rows:
            depth[(provider, kind, status)] = float(count)
            if status not in STUCK and created is not None:
                if created.tzinfo is None:
                    created = created.replace(tzinfo=UTC)
                age = max(0.0, (now - created).total_seconds())
                oldest[(provider, kind)] = max(oldest.get((provider, kind), 0.0), age)
        self._depth, self._oldest, self.refreshed_at = depth, oldest, now

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("gateway_outbox_tasks", "Outbox tasks not done, by provider, kind and "
                                  "status (pending, running, blocked, dead).",
                                  labels=["provider", "kind", "status"])
        for (provider, kind, status), value in sorted(self._depth.items()):
            depth.add_metric([provider, kind, status], value)
        yield depth
        oldest = GaugeMetricFamily("gateway_outbox_oldest_pending_age_seconds", "Age of the oldest outbox "
                                   "task still pending or running, by provider and kind.",
                                   labels=["provider", "kind"])
        for (provider, kind), value in sorted(self._oldest.items()):
            oldest.add_metric([provider, kind], value)
        yield oldest


OUTBOX = OutboxCollector()
REGISTRY.register(OUTBOX)

DRIFT_OBJECTS = Gauge("gateway_drift_objects", "Objects the last drift reconciliation of a provider found "
                      "missing upstream, unexpected upstream or differing, in this process.",
                      ["provider", "drift"], registry=REGISTRY)
RECONCILE_RUNS = Counter("gateway_reconcile_runs", "Drift reconciliations by provider and outcome "
                         "(clean, drift, failed).", ["provider", "outcome"], registry=REGISTRY)
DRIFTED_RECORDS = Gauge("gateway_records_drifted", "Records whose provider link reads drifted (found "
                        "missing or changed upstream and not repaired yet), by provider and entity type.",
                        ["provider", "entity_type"], registry=REGISTRY)
for _provider in Provider:
    for _kind in EntityType:
        DRIFTED_RECORDS.labels(_provider.value, _kind.value).set(0)


def observe_drift(provider: str, counts: Mapping[str, int] | None) -> None:
    """Note one reconciliation of ``provider``: the objects it found per kind of drift, or
    None when it failed."""
    if counts is None:
        RECONCILE_RUNS.labels(provider, "failed").inc()
        return
    for drift, count in counts.items():
        DRIFT_OBJECTS.labels(provider, drift).set(count)
    RECONCILE_RUNS.labels(provider, "drift" if any(counts.values()) else "clean").inc()


async def refresh_outbox(session: AsyncSession) -> None:
    """Read the outbox depth and oldest open task from the database into :data:`OUTBOX`."""
    table = table_of(OutboxTaskRow)
    stmt = (
        select(table.c.provider, table.c.entity_type, table.c.status, func.count(),
               func.min(table.c.created_at))
        .where(table.c.status.in_(OPEN_STATUSES))
        .group_by(table.c.provider, table.c.entity_type, table.c.status)
    )
    rows = (await session.execute(stmt)).all()
    OUTBOX.update(((r[0], r[1], r[2], int(r[3]), r[4]) for r in rows), now=datetime.now(UTC))
    links = table_of(ProviderLinkRow)
    drifted = (await session.execute(
        select(links.c.provider, links.c.entity_type, func.count())
        .where(links.c.status == SyncStatus.DRIFTED.value)
        .group_by(links.c.provider, links.c.entity_type)
    )).all()
    counts = {(provider, kind): int(count) for provider, kind, count in drifted}
    for provider in Provider:
        for kind in EntityType:
            found = counts.get((provider.value, kind.value), 0)
            DRIFTED_RECORDS.labels(provider.value, kind.value).set(found)


class MetricsServer:
    """A worker's own ``/metrics`` endpoint: a small HTTP server on a thread of its own."""

    def __init__(self, *, port: int, host: str = "0.0.0.0") -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=REGISTRY)
        self.port = int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def render() -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(REGISTRY)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus scrape endpoint; the outbox snapshot is refreshed first when the database answers."""
    try:
        # the process's gateway.runtime.process.Runtime (a layer above this one)
        async with request.app.state.runtime.sessions() as session:
            await refresh_outbox(session)
    except Exception as exc:
        log.warning("outbox snapshot not refreshed: %s", type(exc).__name__)
    return Response(content=render(), media_type=CONTENT_TYPE_LATEST)
