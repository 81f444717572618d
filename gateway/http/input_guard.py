"""Checks every request's parameters and JSON body before a handler runs.

PostgreSQL cannot store or compare text holding U+0000 (asyncpg refuses it), so an id
or a filter carrying ``%00`` is refused here with a 400 naming the parameter, on
SQLite too, instead of failing inside a query.

A handler declares its JSON body as a typed ``data: <msgspec Struct>`` parameter, which
is also what the OpenAPI document shows as its request body. The body is decoded here,
strictly, by :func:`gateway.http.deps.decode` (nesting depth, invalid UTF-8, NUL
characters and every type and constraint of the struct, with the field at fault named
in the 400), and handed to Litestar as the request's parsed JSON, so Litestar passes the
decoded struct through as ``data`` without coercing anything. The raw bytes stay
cached on the request (``await request.body()``) for the idempotency hash.

A form body (``application/x-www-form-urlencoded`` or ``multipart/form-data``, the
console's) is parsed by Litestar; every field name and text value (and an uploaded file's
name) is checked here for U+0000 the same way, with the field named, before Litestar turns
the form into the handler's ``data``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.utils.scope.state import ScopeState

from gateway.core.errors import InvalidError
from gateway.http.deps import decode
from gateway.http.routes import allowed_methods

NUL_DETAIL = "text may not contain the NUL character (U+0000)"


async def refuse_nul_parameters(request: Request[Any, Any, Any]) -> None:
    """400 when a path or query parameter holds U+0000."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidError(NUL_DETAIL, field=name)
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidError(NUL_DETAIL, field=name.replace("\x00", "") or None)


async def refuse_nul_form(request: Request[Any, Any, Any]) -> None:
    """400 when a form field's name, a text value or an uploaded file's name holds U+0000."""
    form = await request.form()
    for name, value in form.multi_items():
        text = value if isinstance(value, str) else getattr(value, "filename", "") or ""
        if "\x00" in name or "\x00" in text:
            raise InvalidError(NUL_DETAIL, field=name.replace("\x00", "") or None)


async def decode_data(request: Request[Any, Any, Any]) -> None:
    """Decode the body into the type of the handler's ``data`` parameter, if it has one.

    An optional ``data`` (``X | None = None``) may be left out: an empty body is then None.
    """
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    media_type = getattr(field.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if media_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        await refuse_nul_form(request)
        return  # Litestar turns the form into ``data``
    if media_type != RequestEncodingType.JSON:
        return
    body = await request.body()
    if not body and field.is_optional:
        return
    ScopeState.from_scope(request.scope).json = decode(body, field.annotation)


async def guard_request(request: Request[Any, Any, Any]) -> Response[None] | None:
    """The app's ``before_request`` hook: ``OPTIONS`` answered with every method of the path,
    then the parameters checked, then the body decoded."""
    if request.method == "OPTIONS":
        return Response(None, status_code=204,
                        headers={"Allow": ", ".join(allowed_methods(request.app, request.url.path))})
    await refuse_nul_parameters(request)
    await decode_data(request)
    return None
