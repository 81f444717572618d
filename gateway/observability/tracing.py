"""OpenTelemetry traces: an API request, the outbox tasks it queued, their upstream calls.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then :func:`configure_from_env` (called at
the start of the API and of every worker) installs the SDK's tracer provider with a batching
OTLP/HTTP exporter (the exporter reads its endpoint, headers and timeout from the standard
``OTEL_EXPORTER_OTLP_*`` variables; ``OTEL_SERVICE_NAME`` names the service). Off, nothing of
OpenTelemetry is imported (its API alone costs tens of milliseconds), the API gets no tracing
middleware, tasks keep no trace context and the worker opens no spans.

The chain, when on:

* :class:`TracingMiddleware`: a server span per API request (``GET /v1/customers/{id}``),
  continuing a caller's ``traceparent``;
* the outbox planner stores the current span's context with each task it queues
  (:func:`current_traceparent`, a W3C ``traceparent``);
* the worker runs each task inside :func:`task_span`, a child of that stored context (a batch
  request of several tasks continues the first one's and links the others);
* each upstream exchange is a client span under it (``providers.http``), and the call history
  keeps its trace id.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.trace import SpanContext

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "energy-gateway"

_enabled = False
_tracer: Any = None
_propagator: Any = None
_processors: list[Any] = []
"""The span processors added to the tracer provider (each once)."""


def enabled() -> bool:
    """Whether this process records spans (an SDK tracer provider was installed here)."""
    return _enabled


def _install(processor: SpanProcessor, *, role: str) -> None:
    """Add ``processor`` to the SDK tracer provider, installing that provider first if needed."""
    global _enabled, _tracer, _propagator
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from providers.http import trace_exchanges

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME,
                                    "gateway.role": role})
        provider = TracerProvider(resource=resource)
        trace.set_tracer_provider(provider)
    if processor not in _processors:
        provider.add_span_processor(processor)
        _processors.append(processor)
    _tracer = trace.get_tracer("gateway")
    _propagator = TraceContextTextMapPropagator()
    trace_exchanges()
    _enabled = True


def configure_from_env(*, role: str) -> bool:
    """Export spans over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (once per
    process); ``role`` (api, worker) is a resource attribute. Whether traces are on."""
    if _enabled or not os.environ.get(ENDPOINT_ENV):
        return _enabled
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    _install(BatchSpanProcessor(OTLPSpanExporter()), role=role)
    return True


def add_processor(processor: SpanProcessor, *, role: str = "test") -> None:
    """Record spans, into ``processor`` too (tests pass the SDK's in-memory exporter)."""
    _install(processor, role=role)


def stop() -> None:
    """Record no more spans in this process (a test turns traces off again); apps built from
    now on get no tracing middleware. The tracer provider stays installed."""
    global _enabled
    from providers.http import trace_exchanges

    _enabled = False
    trace_exchanges(on=False)


def current_traceparent() -> str | None:
    """The current span's context as a W3C ``traceparent``, or None when there is none."""
    if not _enabled:
        return None
    from opentelemetry import trace

    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id (32 hex digits) a ``traceparent`` names, or None."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def _span_context(traceparent: str | None) -> SpanContext | None:
    from opentelemetry import trace

    if not traceparent:
        return None
    found = trace.get_current_span(_propagator.extract({"traceparent": traceparent})).get_span_context()
    return found if found.is_valid else None


@contextmanager
def task_span(name: str, traceparents: Sequence[str | None], **attributes: Any) -> Iterator[None]:
    """A consumer span for outbox work: the child of the first stored context, linked to
    the other tasks' (a batch carries several); a new trace when none was stored."""
    if not _enabled:
        yield
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    contexts = [c for c in (_span_context(t) for t in traceparents) if c is not None]
    parent = trace.set_span_in_context(trace.NonRecordingSpan(contexts[0])) if contexts else None
    links = [trace.Link(c) for c in contexts[1:]]
    with _tracer.start_as_current_span(name, context=parent or otel_context.Context(),
                                       kind=trace.SpanKind.CONSUMER, links=links,
                                       attributes={k: v for k, v in attributes.items() if v is not None}):
        yield


class TracingMiddleware:
    """ASGI middleware: a server span per HTTP request, named by its route template (the app
    adds it only while traces are on)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # ScopeType.HTTP is "http"
            await self.app(scope, receive, send)
            return
        http = cast("HTTPScope", scope)
        carrier = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope.get("headers", ()) if key in (b"traceparent", b"tracestate")}
        from opentelemetry import trace

        method = http["method"]
        route = http.get("path_template") or http["path"]
        with _tracer.start_as_current_span(
            f"{method} {route}", context=_propagator.extract(carrier), kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route, "url.path": http["path"]},
        ) as span:

            async def send_and_note(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(trace.StatusCode.ERROR)
                await send(message)

            await self.app(scope, receive, send_and_note)
