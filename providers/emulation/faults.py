"""What an emulator does wrong on purpose: the fault plan and the answers it forces."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from litestar.types import HTTPResponseStartEvent, Send

ERROR_STATUSES = (500, 502, 503)
_PROBLEM_HEADERS = [(b"content-type", b"application/problem+json")]


class FaultPlan(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """What an emulator does wrong, drawn per request from ``random.Random(seed)``."""

    latency_ms_min: int = 0
    latency_ms_max: int = 0
    error_rate: float = 0.0
    error_statuses: list[int] = msgspec.field(default_factory=list)
    """Statuses an injected error answers with, one drawn per error (empty: 500, 502 or 503)."""
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    """Share of requests answered only after ``slow_ms`` (meant to be past the client's timeout)."""
    slow_ms: int = 0
    slow_processed: bool = True
    """Whether a slow request is processed (its answer held back) or answered 503 unprocessed."""
    lost_rate: float = 0.0
    """Share of requests processed whose answer is replaced by a 502 (the work is done upstream)."""
    seed: int = 0
    paths: list[str] = msgspec.field(default_factory=list)
    methods: list[str] = msgspec.field(default_factory=list)
    """Only requests with these methods are faulted (all when empty), e.g. ``["POST"]``."""

    def problems(self) -> list[str]:
        """Return what is inconsistent in this plan (empty when it is usable)."""
        found: list[str] = []
        if self.latency_ms_min < 0 or self.latency_ms_max < self.latency_ms_min:
            found.append("latencyMsMin must be >= 0 and <= latencyMsMax")
        rates = (
            self.error_rate, self.rate_limit_rate, self.drop_rate, self.slow_rate, self.lost_rate
        )
        if any(rate < 0.0 or rate > 1.0 for rate in rates):
            found.append(
                "errorRate, rateLimitRate, dropRate, slowRate and lostRate must lie in [0, 1]"
            )
        elif sum(rates) > 1.0 + 1e-9:
            found.append(
                "errorRate + rateLimitRate + dropRate + slowRate + lostRate must not exceed 1"
            )
        if any(status < 500 or status > 599 for status in self.error_statuses):
            found.append("errorStatuses must be 5xx statuses")
        if self.retry_after_s < 0:
            found.append("retryAfterS must be >= 0")
        if self.slow_ms < 0 or (self.slow_rate and not self.slow_ms):
            found.append("slowMs must be >= 0, and > 0 when slowRate is set")
        return found

    def error_status_choices(self) -> Sequence[int]:
        """The statuses an injected error is drawn from."""
        return self.error_statuses or ERROR_STATUSES

    @property
    def is_active(self) -> bool:
        """Whether the plan injects anything at all."""
        return bool(
            self.latency_ms_max
            or self.error_rate
            or self.rate_limit_rate
            or self.drop_rate
            or self.slow_rate
            or self.lost_rate
        )


class ConnectionDropped(Exception):
    """Raised after an emulator deliberately abandoned a request without answering."""


async def send_problem(
    send: Send, status: int, title: str, extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with an ``application/problem+json`` body of ``status`` and ``title``."""
    body = msgspec.json.encode({"type": "about:blank", "title": title, "status": status})
    headers = [*_PROBLEM_HEADERS, (b"content-length", str(len(body)).encode()), *extra_headers]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def drop_connection(send: Send) -> None:
    """Abandon the request so that the server closes the socket without writing a byte.

    The response is started with a header value the HTTP server refuses to write
    (uvicorn checks header values after marking the response as started), then an
    exception is raised; uvicorn closes the transport when an application fails after
    the response started. The client sees the connection closed with no response.
    """
    try:
        await send(
            {"type": "http.response.start", "status": 500, "headers": [(b"x-drop", b"\r\n")]}
        )
    except Exception as exc:
        raise ConnectionDropped("connection dropped by the fault plan") from exc
    raise ConnectionDropped("connection dropped by the fault plan")
