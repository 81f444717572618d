"""Traces from an API request through its outbox tasks to the upstream calls, and the call
bodies in the sync history (embedded worker, both emulators over real HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.observability import tracing
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced


class _Switch(SpanProcessor):
    """Hands finished spans to the processor of the test running (none between tests)."""

    def __init__(self) -> None:
        self.target: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self.target is not None:
            self.target.on_end(span)


_switch = _Switch()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Traces on while the test runs, its spans in an in-memory exporter; off again after."""
    tracing.add_processor(_switch)
    exporter = InMemorySpanExporter()
    _switch.target = SimpleSpanProcessor(exporter)
    try:
        yield exporter
    finally:
        _switch.target = None
        tracing.stop()


@pytest.fixture
async def traced_client(spans: InMemorySpanExporter, database_url: str,
                        emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient[Any]]:
    """The gateway with its embedded worker, built after traces were turned on."""
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=2.0, sync_max_attempts=20,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


def _hex(trace_id: int) -> str:
    return format(trace_id, "032x")


async def test_upstream_calls_carry_the_trace_of_the_request_that_queued_them(
        traced_client: AsyncTestClient[Any], spans: InMemorySpanExporter) -> None:
    """The trace id kept with a customer's upstream calls is the API request's trace, whose
    server span is the parent of the task's span, itself the parent of each call's client span."""
    created = (await traced_client.post("/v1/customers", json=TREE)).json()
    await wait_synced(traced_client, [f"/v1/customers/{created['id']}"])
    history = (await traced_client.get(f"/v1/customers/{created['id']}/sync-history")).json()["items"]
    tasks = (await traced_client.get("/v1/sync/tasks", params={"entityId": created["id"]})).json()["items"]

    finished = spans.get_finished_spans()
    request = next(s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /v1/customers")
    assert request.context is not None
    trace_id = _hex(request.context.trace_id)
    calls = [c for c in history if c["entityId"] == created["id"]]
    assert calls and {c["traceId"] for c in calls} == {trace_id}, calls
    assert tasks and {t["traceId"] for t in tasks} == {trace_id}

    by_id = {s.context.span_id: s for s in finished if s.context is not None}
    clients = [s for s in finished if s.kind is SpanKind.CLIENT and s.context is not None
               and _hex(s.context.trace_id) == trace_id]
    # every API exchange of the customer is a client span of the trace (token fetches are not)
    routes = {c["route"] for c in calls if "token" not in c["route"]}
    assert routes and {_attribute(s, "url.template") for s in clients} >= routes
    customer_tasks = set()
    for client_span in clients:
        assert client_span.parent is not None
        task = by_id[client_span.parent.span_id]
        assert task.kind is SpanKind.CONSUMER and task.parent is not None
        assert task.parent.span_id == request.context.span_id
        assert _attribute(client_span, "http.response.status_code") in range(200, 300)
        if _attribute(task, "gateway.entity.id") == created["id"]:
            customer_tasks.add(_attribute(task, "gateway.task.id"))
    assert customer_tasks == {t["id"] for t in tasks}


def _attribute(span: ReadableSpan, name: str) -> object:
    return (span.attributes or {}).get(name)


async def test_sync_history_keeps_bodies_without_secrets(traced_client: AsyncTestClient[Any],
                                                         emulators: dict[str, Any]) -> None:
    """Each upstream call of a customer comes with its request and response bodies; token
    exchanges keep none, and no credential, token or bearer header is in any of them."""
    created = (await traced_client.post("/v1/customers", json=TREE)).json()
    site = (await traced_client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    await wait_synced(traced_client, [f"/v1/customers/{created['id']}", f"/v1/sites/{site['id']}"])
    history = (await traced_client.get(f"/v1/customers/{created['id']}/sync-history")).json()["items"]
    user = next(c for c in history if c["route"] == "/users")
    assert msgspec.json.decode(user["requestBody"]) == {"userId": created["id"]}
    assert created["id"] in user["responseBody"] and user["requestBodyTruncated"] is False
    space = next(c for c in history if c["route"] == "/spaces")
    assert msgspec.json.decode(space["requestBody"])["name"] == TREE["sites"][0]["name"]  # type: ignore[index]
    assert "spaceId" in space["responseBody"]
    tokens = [c for c in history if "token" in c["route"]]
    assert all(c["requestBody"] is None and c["responseBody"] is None for c in tokens)
    dumped = msgspec.json.encode(history).decode()
    assert "Bearer" not in dumped and "access_token" not in dumped
