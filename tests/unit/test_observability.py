"""Log redaction, request ids and the metric bookkeeping, without a server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.observability.logging import (
    REDACTED,
    RequestIdMiddleware,
    configure_logging,
    configure_logging_from_env,
    redact_text,
    register_secrets,
    request_id_from,
)
from gateway.observability.metrics import (
    DEAD_LETTERS,
    TASK_ATTEMPTS,
    TOKEN_FETCHES,
    UPSTREAM_CALLS,
    OutboxCollector,
    observe_round,
)
from gateway.outbox.engine import RoundResult
from gateway.store.tables import OutboxTaskRow
from providers.base import CallRecord, Outcome, TransientError


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.parametrize("text, secret", [
    ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
    ('{"clientId":"zf","clientSecret":"s3cr3t-value"}', "s3cr3t-value"),
    ('{"accessToken": "tok-123456"}', "tok-123456"),
    ("grant_type=client_credentials&client_secret=abc12345&client_id=x", "abc12345"),
    ("{'access_token': 'xyz98765', 'expires_in': 3600}", "xyz98765"),
    ("api_key=k-0000-1111", "k-0000-1111"),
])
def test_redact_text_removes_tokens_and_secrets(text: str, secret: str) -> None:
    """Bearer credentials and token/secret fields in JSON, form and repr text are replaced."""
    redacted = redact_text(text)
    assert secret not in redacted and REDACTED in redacted


def test_registered_secret_values_are_removed_anywhere() -> None:
    """A configured secret value disappears even inside unrelated text."""
    register_secrets(["pa55-w0rd-unique-42"])
    assert redact_text("connecting with pa55-w0rd-unique-42 now") == f"connecting with {REDACTED} now"
    assert redact_text("nothing to hide here") == "nothing to hide here"


def test_json_lines_carry_context_and_hide_secret_fields(restore_logging: None) -> None:
    """JSON output: bound context merged, secret-named fields blanked, exceptions scrubbed."""
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream, secrets=["env-secret-9876"])
    log = structlog.stdlib.get_logger("gateway.test")
    with structlog.contextvars.bound_contextvars(task_id="t-1", provider="volue", customer_id="c-1"):
        log.info("calling", client_secret="env-secret-9876", headers={"Authorization": "Bearer abcdefgh"})
        try:
            raise RuntimeError("refused env-secret-9876")
        except RuntimeError:
            logging.getLogger("gateway.std").exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["task_id"] == "t-1" and first["provider"] == "volue" and first["customer_id"] == "c-1"
    assert first["client_secret"] == REDACTED and first["headers"]["Authorization"] == REDACTED
    assert second["level"] == "error" and "RuntimeError" in second["exception"]
    assert "env-secret-9876" not in stream.getvalue()


def test_console_format_is_readable_text(restore_logging: None) -> None:
    """Console output is a plain line with the event and its fields, not JSON."""
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="console", stream=stream)
    structlog.stdlib.get_logger("gateway.test").warning("task dead-lettered", task_id="t-9")
    line = stream.getvalue()
    assert "task dead-lettered" in line and "task_id=t-9" in line and not line.startswith("{")


def test_configure_from_env_falls_back_on_bad_values(restore_logging: None) -> None:
    """Unknown GATEWAY_LOG_LEVEL/FORMAT values fall back to INFO/auto instead of crashing start-up."""
    configure_logging_from_env({"GATEWAY_LOG_LEVEL": "loud", "GATEWAY_LOG_FORMAT": "xml"})
    assert logging.getLogger().level == logging.INFO
    configure_logging_from_env({"GATEWAY_LOG_LEVEL": "debug", "GATEWAY_LOG_FORMAT": "json"})
    assert logging.getLogger().level == logging.DEBUG


def test_settings_refuse_a_bad_log_format() -> None:
    """GATEWAY_LOG_FORMAT and GATEWAY_WORKER_METRICS_PORT are validated with the variable named."""
    from gateway.core.settings import SettingsError

    with pytest.raises(SettingsError, match="GATEWAY_LOG_FORMAT"):
        load_settings({"GATEWAY_LOG_FORMAT": "xml"})
    with pytest.raises(SettingsError, match="GATEWAY_WORKER_METRICS_PORT"):
        load_settings({"GATEWAY_WORKER_METRICS_PORT": "70000"})
    assert load_settings({"GATEWAY_WORKER_METRICS_PORT": "9100"}).worker.metrics_port == 9100


def test_request_id_is_taken_when_sane_and_made_otherwise() -> None:
    """A sane X-Request-ID is kept; a missing, overlong or odd one is replaced by a fresh hex id."""
    assert request_id_from([(b"x-request-id", b"abc-123_x.y")]) == "abc-123_x.y"
    for headers in ([], [(b"x-request-id", b"a" * 200)], [(b"x-request-id", b"has space")]):
        made = request_id_from(headers)
        assert len(made) == 32 and int(made, 16) >= 0


class _Refused(Exception):
    status_code = 403


async def test_an_http_error_raised_through_the_middleware_is_logged_with_its_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 403 raised before the app answers (the CSRF check) is logged as 403, not as a 500 error."""
    async def refusing(scope: Any, receive: Any, send: Any) -> None:
        raise _Refused

    middleware = RequestIdMiddleware(refusing)
    with caplog.at_level(logging.DEBUG, logger="gateway.access"), pytest.raises(_Refused):
        await middleware({"type": "http", "headers": [], "method": "POST", "path": "/console/sign-in"},
                         _nothing, _nothing)
    [line] = [r for r in caplog.records if r.name == "gateway.access"]
    assert line.levelno == logging.DEBUG and line.__dict__["status"] == 403


async def _nothing(*_: Any) -> None:
    return None


def _task(task_id: str, provider: str = "volue", kind: str = "customer") -> OutboxTaskRow:
    now = datetime.now(UTC)
    return OutboxTaskRow(id=task_id, provider=provider, entity_type=kind, entity_id=task_id,
                         customer_id="c", action="upsert", status="running", attempts=1,
                         run_after=now, created_at=now, updated_at=now)


def test_observe_round_counts_batch_calls_once_and_each_outcome() -> None:
    """Tasks of one batch share a call list counted once; done, retry and dead are told apart."""
    settings = load_settings({})
    shared = [CallRecord(method="POST", route="/connect/token", status=200, latency_ms=3.0),
              CallRecord(method="POST", route="/users/batch", status=200, latency_ms=12.0)]
    done = RoundResult(_task("unit-a"), outcome=Outcome(external_id="a"), calls=shared)
    also_done = RoundResult(_task("unit-b"), outcome=Outcome(external_id="b"), calls=shared)
    retry = RoundResult(_task("unit-c"), error=TransientError("503"))
    dead = RoundResult(_task("unit-d"), fatal_reason="refused")
    fenced = RoundResult(_task("unit-e"), outcome=Outcome(external_id="e"))

    def read() -> tuple[float, ...]:
        return (UPSTREAM_CALLS.labels("volue", "POST", "/users/batch", "200")._value.get(),
                TOKEN_FETCHES.labels("volue", "ok")._value.get(),
                TASK_ATTEMPTS.labels("volue", "customer", "done")._value.get(),
                TASK_ATTEMPTS.labels("volue", "customer", "retry")._value.get(),
                DEAD_LETTERS.labels("volue", "customer")._value.get())

    before = read()
    observe_round([done, also_done, retry, dead, fenced], {"unit-a", "unit-b", "unit-c", "unit-d"},
                  {"unit-d": "refused"}, settings=settings)
    after = read()
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2, 1, 1]


def _samples(collector: OutboxCollector) -> dict[tuple[str, str, str, str], float]:
    """(metric, provider, kind, status or '') -> value."""
    return {(m.name, s.labels["provider"], s.labels["kind"], s.labels.get("status", "")): s.value
            for m in collector.collect() for s in m.samples}


def test_outbox_collector_reports_depth_age_and_zeros() -> None:
    """Depth per status, the age of the oldest open task, and 0 for label sets gone quiet."""
    collector = OutboxCollector()
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    naive = (now - timedelta(seconds=5)).replace(tzinfo=None)  # SQLite hands back naive UTC
    collector.update([("volue", "site", "pending", 3, now - timedelta(seconds=90)),
                      ("volue", "site", "dead", 1, now - timedelta(days=2)),
                      ("zaehlerfreunde", "device", "running", 2, naive)], now=now)
    samples = _samples(collector)
    depth, age = "gateway_outbox_tasks", "gateway_outbox_oldest_pending_age_seconds"
    assert samples[(depth, "volue", "site", "pending")] == 3
    assert samples[(depth, "volue", "site", "dead")] == 1
    assert samples[(age, "volue", "site", "")] == 90  # the dead task's age does not count
    assert samples[(age, "zaehlerfreunde", "device", "")] == 5
    collector.update([], now=now)
    samples = _samples(collector)
    assert samples[(depth, "volue", "site", "pending")] == 0
    assert samples[(age, "zaehlerfreunde", "device", "")] == 0
    assert {key[1] for key in samples} == {p.value for p in Provider}
