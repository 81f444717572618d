"""JSON writes say they are JSON: a body sent as anything else is a 415.

The API's writes take JSON bodies (a typed ``data`` parameter, or ``opt["body"]`` for the
few handlers that read their body themselves). A request to one of them whose
``Content-Type`` names another media type (``text/plain``, a form, ``application/xml``)
is refused with a ``415`` problem naming ``Content-Type``, before the body is read.
``application/json`` and the ``application/*+json`` types pass, with any parameters
(``; charset=utf-8``); a request without a ``Content-Type`` is read as JSON.

It is a guard of the API's router only: the console's form posts and CSV uploads and the
providers' webhooks are outside it.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler

from gateway.core.errors import GatewayError


class UnsupportedMediaType(GatewayError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


def takes_json(handler: BaseRouteHandler) -> bool:
    """Whether the handler's body is JSON: ``opt["body"]``, or a ``data`` parameter that is not a form."""
    if handler.opt.get("body") is not None:
        return True
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return False
    return getattr(field.kwarg_definition, "media_type", RequestEncodingType.JSON) == RequestEncodingType.JSON


def is_json(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json``, parameters ignored."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def require_json(connection: ASGIConnection[Any, Any, Any, Any],
                       route_handler: BaseRouteHandler) -> None:
    """A router guard: 415 when a JSON write is sent with a ``Content-Type`` that is not JSON."""
    content_type = connection.headers.get("content-type")
    if content_type is None or is_json(content_type) or not takes_json(route_handler):
        return
    shown = content_type.split(";", 1)[0].strip()[:100]
    raise UnsupportedMediaType(f"this operation takes application/json, not {shown!r}", field="Content-Type")
