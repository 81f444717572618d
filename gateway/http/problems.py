"""Every error leaves the API as an RFC 9457 ``application/problem+json`` document."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import IntegrityError

from gateway.core.errors import PROBLEM_BASE, GatewayError, RateLimited, UnauthorizedError
from gateway.core.wire import field_of
from gateway.http.routes import allowed_methods
from gateway.runtime.process import Runtime
from gateway.store.db import UNAVAILABLE_RETRY_AFTER_S, availability, unavailable_reason

log = logging.getLogger("gateway.api")

_STATUS_SLUGS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
    429: "rate-limited",
}


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    instance: str | None = None


def problem_response(
    status: int, title: str, detail: str, *, slug: str, field: str | None = None,
    instance: str | None = None, headers: dict[str, str] | None = None,
) -> Response[bytes]:
    body = Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail,
                   field=field, instance=instance)
    return Response(msgspec.json.encode(body), status_code=status,
                    media_type="application/problem+json", headers=headers)


def gateway_error_handler(request: Request[Any, Any, Any], exc: GatewayError) -> Response[bytes]:
    headers = {"WWW-Authenticate": 'Bearer realm="gateway"'} if isinstance(
        exc, UnauthorizedError) else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return problem_response(exc.status, exc.title, exc.detail, slug=exc.slug, field=exc.field,
                            instance=request.url.path, headers=headers)


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    field = None
    detail = exc.detail
    extra = exc.extra if isinstance(exc.extra, list) else []
    if extra and isinstance(extra[0], dict):
        field = extra[0].get("key")
        detail = f"{extra[0].get('message', detail)}"
        if field == "data":  # a typed body: msgspec's message names the field within it
            detail, field = field_of(detail)
    return problem_response(400, "Invalid request", detail, slug="validation", field=field,
                            instance=request.url.path)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        log.error("unhandled HTTP error on %s: %s", request.url.path, exc.detail)
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
    if status == 405:  # Litestar's own lowercase ``allow`` is replaced, not repeated
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return problem_response(status, _STATUS_SLUGS.get(status, "error").replace("-", " ").capitalize(),
                            exc.detail, slug=_STATUS_SLUGS.get(status, "error"),
                            instance=request.url.path, headers=headers or None)


def integrity_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[bytes]:
    """A unique index caught a race the pre-checks could not: report it as a conflict."""
    log.warning("integrity error on %s: %s", request.url.path, exc.orig)
    return problem_response(409, "Conflict", "the request conflicts with a record written concurrently",
                            slug="conflict", instance=request.url.path)


def database_unavailable(instance: str | None = None) -> Response[bytes]:
    """503 ``database-unavailable`` with ``Retry-After``: the request may be sent again; with
    the same Idempotency-Key a write runs once, or replays its answer if it had committed."""
    return problem_response(
        503, "Database unavailable",
        "the gateway cannot reach its database for now; send the request again after "
        "Retry-After seconds", slug="database-unavailable", instance=instance,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)})


def internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """500 with the traceback logged, or 503 when the database is away (no traceback: the
    outage is logged once, when it starts, by the engine's :class:`Availability`)."""
    reason = unavailable_reason(exc)
    if reason is not None:
        runtime: Runtime | None = request.app.state.get("runtime")
        if runtime is not None:
            availability(runtime.engine).failed(reason)
        return database_unavailable(request.url.path)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal error", "the gateway failed to handle the request",
                            slug="internal", instance=request.url.path)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GatewayError: gateway_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    IntegrityError: integrity_handler,
    Exception: internal_handler,
}
