"""Checks every request's path and query parameters before a handler runs.

PostgreSQL cannot store or compare text holding U+0000 (asyncpg refuses it), so an id
or a filter carrying ``%00`` is refused here with a 400 naming the parameter, on
SQLite too, instead of failing inside a query. (JSON bodies get the same check in
:func:`gateway.http.deps.decode`.)
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from gateway.core.errors import InvalidError

NUL_DETAIL = "text may not contain the NUL character (U+0000)"


async def refuse_nul_parameters(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: 400 when a path or query parameter holds U+0000."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidError(NUL_DETAIL, field=name)
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidError(NUL_DETAIL, field=name.replace("\x00", "") or None)
