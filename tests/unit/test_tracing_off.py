"""Traces are off unless an OTLP endpoint is configured, and then cost no import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from gateway.observability import tracing
import providers.http
with tracing.task_span("customer upsert", ["00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"]):
    inside = tracing.current_traceparent()
print(json.dumps({"on": tracing.configure_from_env(role="api"), "traceparent": inside,
                  "otel": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}))
"""


def test_without_an_endpoint_nothing_is_traced_or_imported() -> None:
    """Without OTEL_EXPORTER_OTLP_ENDPOINT traces stay off, tasks get no trace context, and no
    OpenTelemetry module is imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    found = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=root, capture_output=True,
                           text=True, timeout=120, check=True)
    assert json.loads(found.stdout.strip().splitlines()[-1]) == {"on": False, "traceparent": None, "otel": []}


def test_trace_ids_are_read_from_a_traceparent() -> None:
    """A stored traceparent names its trace id; anything else names none."""
    from gateway.observability.tracing import trace_id_of

    assert trace_id_of("00-" + "ab" * 16 + "-" + "cd" * 8 + "-01") == "ab" * 16
    assert trace_id_of(None) is None and trace_id_of("garbage") is None
