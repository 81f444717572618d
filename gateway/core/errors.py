"""Errors the API answers with, as RFC 9457 problems.

::

    GatewayError              status, title, detail, optional ``field`` naming the input at fault
    ├── InvalidError          400  a value is well-formed JSON but not acceptable
    ├── UnauthorizedError     401  no or unknown API key
    ├── ForbiddenError        403  the key lacks the scope
    ├── NotFoundError         404
    ├── ConflictError         409  externalRef in use, or the state forbids the change
    ├── TooLargeError         413  body over the size limit
    ├── IdempotencyMismatch   422  Idempotency-Key reused with a different body
    ├── RateLimited           429  the key sent more requests than its scope allows (Retry-After)
    └── UpstreamError         502  a provider asked on the caller's behalf failed or refused
"""

from __future__ import annotations

PROBLEM_BASE = "https://gateway.example/problems/"


class GatewayError(Exception):
    status = 500
    slug = "internal"
    title = "Internal error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug


class InvalidError(GatewayError):
    status, slug, title = 400, "validation", "Invalid request"


class UnauthorizedError(GatewayError):
    status, slug, title = 401, "unauthorized", "Missing or invalid API key"


class ForbiddenError(GatewayError):
    status, slug, title = 403, "forbidden", "API key lacks the required scope"


class NotFoundError(GatewayError):
    status, slug, title = 404, "not-found", "Not found"


class ConflictError(GatewayError):
    status, slug, title = 409, "conflict", "Conflict"


class TooLargeError(GatewayError):
    status, slug, title = 413, "too-large", "Request body too large"


class IdempotencyMismatch(GatewayError):
    status, slug, title = 422, "idempotency-mismatch", "Idempotency-Key reused with another body"


class UpstreamError(GatewayError):
    status, slug, title = 502, "upstream", "The provider did not answer as needed"


class RateLimited(GatewayError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
