"""One list shape for every collection: ``{"items": [...], "nextCursor": <opaque string or null>}``.

A cursor is the sort key of the last item of a page (an id, or a time and an id),
JSON-encoded, followed by a check value of those bytes and base64url'd. Callers treat
it as opaque; the API refuses with a 400 naming ``cursor`` any cursor it did not hand
out for that listing: one whose check value does not match (``["zzzz"]`` encoded by
hand, a cursor cut short or edited) or whose key does not have the listing's shape.
The check value is a keyed BLAKE2b digest with a key fixed in the code: it is an
integrity check, not a secret, and needs none, since a cursor grants nothing (it only
positions a listing the caller may read from the start anyway). Every listing takes
``limit`` (:data:`Limit`, default :data:`DEFAULT_LIMIT`).

Keyset pagination: a page asks for ``limit + 1`` rows after the cursor's key;
:func:`page_of` cuts the extra row off and turns the last kept row's key into the
next cursor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.params import Parameter
from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from gateway.core.clock import as_utc
from gateway.core.errors import InvalidError
from gateway.core.wire import Page

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "TIME_AND_ID",
    "Cursor",
    "Limit",
    "Page",
    "after",
    "decode_cursor",
    "encode_cursor",
    "page_of",
]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="the most items on one page")]
"""The ``limit`` query parameter of every listing."""

Cursor = Annotated[str | None, Parameter(
    max_length=500, description="the `nextCursor` of the previous page; absent for the first page")]
"""The ``cursor`` query parameter of every listing."""

Key = tuple[Any, ...]

TIME_AND_ID: tuple[type[datetime], type[str]] = (datetime, str)
"""The cursor shape of listings ordered by a time and then an id."""


_CHECK_BYTES = 8
_CHECK_KEY = b"gateway listing cursor v1"


def _check(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=_CHECK_BYTES, key=_CHECK_KEY).digest()


def encode_cursor(*key: str | int | datetime) -> str:
    """An opaque cursor carrying the sort key of the last item handed out, and its check value."""
    parts = [as_utc(part).isoformat() if isinstance(part, datetime) else part for part in key]
    raw = msgspec.json.encode(parts)
    return base64.urlsafe_b64encode(raw + _check(raw)).decode().rstrip("=")


def decode_cursor(cursor: str, *shape: type[str] | type[int] | type[datetime]) -> Key:
    """The sort key an :func:`encode_cursor` cursor carries, typed as ``shape``; 400 for any other."""
    try:
        blob = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        raw, check = blob[:-_CHECK_BYTES], blob[-_CHECK_BYTES:]
        if len(blob) <= _CHECK_BYTES or not hmac.compare_digest(check, _check(raw)):
            raise ValueError(cursor)
        parts = msgspec.json.decode(raw)
        if not isinstance(parts, list) or len(parts) != len(shape):
            raise ValueError(cursor)
        return tuple(_typed(part, kind) for part, kind in zip(parts, shape, strict=True))
    except (ValueError, binascii.Error, UnicodeDecodeError, msgspec.DecodeError, OverflowError):
        raise InvalidError("cursor is not one this API handed out", field="cursor") from None


def _typed(part: object, kind: type[Any]) -> Any:
    if kind is datetime:
        if not isinstance(part, str):
            raise ValueError(part)
        moment = datetime.fromisoformat(part)
        if moment.tzinfo is None:
            raise ValueError(part)
        return moment.astimezone(UTC)
    if kind is int:
        if not isinstance(part, int) or isinstance(part, bool) or not -(2**63) <= part < 2**63:
            raise ValueError(part)
        return part
    if not isinstance(part, str) or "\x00" in part or len(part) > 200:
        raise ValueError(part)
    return part


def after(columns: Sequence[Any], key: Key, *, descending: bool = False) -> ColumnElement[bool]:
    """The rows that sort after ``key`` on ``columns`` (all ascending, or all descending)."""
    first, rest = columns[0], columns[1:]
    beyond = first < key[0] if descending else first > key[0]
    if not rest:
        return beyond  # type: ignore[no-any-return]
    return or_(beyond, and_(first == key[0], after(rest, key[1:], descending=descending)))


def page_of(
    rows: Sequence[R], limit: int, key: Callable[[R], Key], view: Callable[[R], T]
) -> Page[T]:
    """A page of ``rows`` (fetched with ``limit + 1``): their views and the cursor for the next page."""
    more = len(rows) > limit
    kept = rows[:limit]
    next_cursor = encode_cursor(*key(kept[-1])) if more and kept else None
    return Page(items=[view(row) for row in kept], next_cursor=next_cursor)
