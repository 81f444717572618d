"""Problems the gateway answers (RFC 9457 ``application/problem+json``) as exceptions."""

from __future__ import annotations

from typing import Any

import httpx


class GatewayProblem(Exception):
    """An error answer of the gateway: its ``status``, ``type``, ``title``, ``detail`` and the
    offending ``field`` (None when the problem is not about one field)."""

    def __init__(self, status: int, type: str, title: str, detail: str, field: str | None = None,
                 *, body: Any = None, headers: httpx.Headers | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}" + (f" (field {field})" if field else ""))
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.field = field
        self.body = body
        self.headers = headers if headers is not None else httpx.Headers()


class NotFound(GatewayProblem):
    """404: the record (or the route) does not exist."""


class Conflict(GatewayProblem):
    """409: the request conflicts with the state (a duplicate ``externalRef``, a record being
    deleted, or an ``Idempotency-Key`` still in progress after the last retry)."""


class Validation(GatewayProblem):
    """400 or 422: the request does not fit; ``field`` names what to fix."""


class RateLimited(GatewayProblem):
    """429 after the last retry; ``retry_after`` is the wait the gateway asked for (seconds)."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))


_BY_STATUS: dict[int, type[GatewayProblem]] = {
    400: Validation, 404: NotFound, 409: Conflict, 422: Validation, 429: RateLimited,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), None if absent
    or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as dt

    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def problem_from(response: httpx.Response) -> GatewayProblem:
    """The exception for an error ``response``: a problem+json body when there is one, else a
    problem made up from the status line."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = body.get("status") if isinstance(body.get("status"), int) else response.status_code
    cls = _BY_STATUS.get(response.status_code, GatewayProblem)
    return cls(
        status, str(body.get("type", "about:blank")),
        str(body.get("title", response.reason_phrase or "")),
        str(body.get("detail", response.text[:500] if not body else "")),
        body.get("field") if isinstance(body.get("field"), str) else None,
        body=body or None, headers=response.headers,
    )
