"""What the served OpenAPI document says beyond what Litestar derives from the handlers.

Litestar documents each handler's parameters, its typed ``data`` body and its success
answer. :func:`complete_document` then adds, to every operation, what the app does
around the handlers:

* the error answers it can give, all ``application/problem+json`` with the one shared
  :class:`~gateway.http.problems.Problem` schema (Litestar's own ``400`` entry, a
  different shape in ``application/json``, is replaced): 400 for any operation, 401,
  403 and 429 where an API key is needed, 404 where the path names a record, 409 and
  422 for writes (a conflict, an ``Idempotency-Key`` in progress or reused with another
  body), 413 where a body is taken, 415 where the API takes a JSON body (another
  ``Content-Type``), 503 with ``Retry-After`` wherever the database is used
  (every operation but ``/health/live``);
* ``Idempotency-Key`` as a header parameter on every write (POST, PATCH, DELETE);
* the security requirement with the scope the route needs (``opt["scope"]``);
* a pattern refusing U+0000 on every free string of the request bodies and parameters
  (answers may quote what was refused, so theirs are left as they are);
* the request body of the few handlers that read their body themselves (per-item
  validation of batches and readings, the signed webhook), named by ``opt["body"]``, and
  error statuses :func:`error_statuses` cannot tell from the route, in ``opt["errors"]``.

The document is completed once, when it is first served (:func:`completed_document`, used by
the render plugins of ``/schema``).
"""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

import msgspec
from litestar import Litestar, Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from gateway.http.problems import Problem

PROBLEM_REF = "#/components/schemas/Problem"
LINKS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/customers"): {"customer_id": "$response.body#/id"},
    ("POST", "/v1/customers/{customer_id}/sites"): {"site_id": "$response.body#/id"},
    ("POST", "/v1/sites/{site_id}/devices"): {"device_id": "$response.body#/id"},
    ("POST", "/v1/customers/{customer_id}/vehicles"): {"device_id": "$response.body#/id"},
    ("POST", "/v1/devices/{device_id}/charge-actions"): {"report_id": "$response.body#/id"},
    ("POST", "/v1/sites/{site_id}/energy-usage"): {"report_id": "$response.body#/id"},
    ("POST", "/v1/sites/{site_id}/invites"): {"invite_id": "$response.body#/id"},
    ("POST", "/v1/webhook-subscriptions"): {"subscription_id": "$response.body#/id"},
    ("POST", "/v1/sync/resync"): {"task_id": "$response.body#/0/id"},
}
"""Which path parameters a create's answer supplies: the document's links from each create to
the operations on what it created (what clients and the stateful fuzzing follow)."""
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": ("Makes the write safe to send again: a repeat with the same key and body "
                    "replays the first answer (header `Idempotent-Replayed: true`)."),
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
RETRY_AFTER = {"description": "seconds to wait before sending the request again",
               "schema": {"type": "string", "pattern": "^[0-9]+$"}}
ERRORS = {
    400: "the request is malformed or a value is not acceptable; `field` names it",
    401: "no API key, or an unknown or revoked one",
    403: "the API key lacks the scope this operation needs",
    404: "a record named in the path does not exist",
    409: "the request conflicts with the record's state, an externalRef in use, or a request "
         "with the same Idempotency-Key still in progress (then with Retry-After)",
    413: "the body is larger than the limit",
    415: "the body was sent with a Content-Type other than application/json",
    422: "the Idempotency-Key was used before with a different body",
    429: "this API key sent more requests than its scope allows; wait Retry-After seconds",
    503: "the database cannot be reached for now (`database-unavailable`; for /health/ready, "
         "`not-ready`: the database or Redis); send the request again after Retry-After seconds",
}
NO_DATABASE = frozenset({"/health/live"})
"""The operations that answer without the database, so never with a 503."""


def _problem(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in (429, 503):
        answer["headers"] = {"Retry-After": {**RETRY_AFTER, "required": True}}
    if status == 409:
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer


def error_statuses(method: str, path: str, *, secured: bool, has_body: bool) -> list[int]:
    """The error statuses an operation can answer with."""
    statuses = {400}
    if secured:
        statuses |= {401, 403, 429}
    if "{" in path:
        statuses.add(404)
    if method in WRITE_METHODS and secured:
        statuses |= {409, 422}
    if has_body:
        statuses.add(413)
    if path not in NO_DATABASE:
        statuses.add(503)
    return sorted(statuses)


def _schemas_of(types: list[Any], known: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON schemas of ``types`` with their components added to ``known`` (kept where present)."""
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}")
    for name, schema in components.items():
        known.setdefault(name, schema)
    return list(schemas)


NO_NUL = "^[^\\u0000]*$"
"""Text may not hold U+0000 (PostgreSQL cannot store it): the pattern of every free string."""


def _refuse_nul(schema: Any) -> None:
    """Give every string schema in ``schema`` without a pattern, format or enum :data:`NO_NUL`."""
    if isinstance(schema, list):
        for item in schema:
            _refuse_nul(item)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if (kind == "string" or (isinstance(kind, list) and "string" in kind)) and not (
            {"pattern", "format", "enum", "const"} & set(schema)):
        schema["pattern"] = NO_NUL
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for item in value.values():
                _refuse_nul(item)
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "not"):
            _refuse_nul(value)


def _types_of(handler: HTTPRouteHandler) -> list[Any]:
    """The struct types of a handler's ``data`` and of its answer."""
    found: list[Any] = []
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is not None:
        found.append(data.annotation)
    answer = handler.parsed_fn_signature.return_type.annotation
    if get_origin(answer) is Response:
        answer = get_args(answer)[0]
    if answer is not None and answer is not type(None) and _is_structured(answer):
        found.append(answer)
    return found


def _is_structured(annotation: Any) -> bool:
    """Whether ``annotation`` is a struct or a list or page of structs."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return True
    return any(_is_structured(arg) for arg in get_args(annotation)) or _is_structured(
        get_origin(annotation)) if get_origin(annotation) is not None else False


def _handlers(app: Litestar) -> list[tuple[str, HTTPRouteHandler]]:
    found: list[tuple[str, HTTPRouteHandler]] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found.extend((route.path_format or "/", handler) for handler in route.route_handlers
                         if handler.resolve_include_in_schema())
    return found


def complete(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """``document`` (the dict Litestar generated) with errors, headers, scopes and bodies added."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for schema in schemas.values():
        # every struct Litestar documents refuses unknown fields (gateway.core.wire.Wire)
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    # msgspec's own schemas of the bodies and answers replace Litestar's, which drop the
    # constraints (patterns, bounds) of optional and nested annotated fields
    body_types = [t for _, handler in _handlers(app) for t in _types_of(handler)]
    if body_types:
        msgspec_schemas: dict[str, Any] = {}
        _schemas_of(body_types, msgspec_schemas)
        schemas.update(msgspec_schemas)
    _schemas_of([Problem], schemas)
    paths = document.get("paths", {})
    for path, handler in _handlers(app):
        item = paths.get(path)
        if item is None:
            continue
        for method in handler.http_methods:
            operation = item.get(method.lower())
            if operation is None:
                continue
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None and data.is_optional and "requestBody" in operation:
                operation["requestBody"]["required"] = False
            body_type = handler.opt.get("body")
            if body_type is not None and "requestBody" not in operation:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schemas_of([body_type], schemas)[0]}},
                }
            scope = handler.opt.get("scope")
            secured = bool(operation.get("security"))
            if secured:
                operation["security"] = [{"apiKey": [scope] if scope else []}]
            responses = operation.setdefault("responses", {})
            statuses = error_statuses(method, path, secured=secured, has_body="requestBody" in operation)
            if secured and "application/json" in operation.get("requestBody", {}).get("content", {}):
                statuses.append(415)  # gateway.http.content_type: the API's JSON bodies only
            for status in sorted({*statuses, *handler.opt.get("errors", ())}):
                responses[str(status)] = _problem(status)
            for parameter in operation.get("parameters", []):
                _refuse_nul(parameter.get("schema", {}))
            if method in WRITE_METHODS and secured:
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY))
    _add_links(paths)
    bodies = [content.get("schema", {}) for item in paths.values() for operation in item.values()
              if isinstance(operation, dict)
              for content in operation.get("requestBody", {}).get("content", {}).values()]
    for schema in bodies:
        _refuse_nul(schema)
    for name in _referenced(bodies, schemas):
        _refuse_nul(schemas[name])
    return document


def _referenced(roots: list[Any], schemas: dict[str, Any]) -> set[str]:
    """The names of the components ``roots`` refer to, directly or through other components."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found and name in schemas:
                    found.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _add_links(paths: dict[str, Any]) -> None:
    """Link each create in :data:`LINKS` to every operation whose path parameters it supplies."""
    for (method, source_path), supplied in LINKS.items():
        source = paths.get(source_path, {}).get(method.lower())
        if source is None:
            continue
        success = next((code for code in sorted(source["responses"]) if code.startswith("2")), None)
        if success is None:
            continue
        links: dict[str, Any] = {}
        for path, item in paths.items():
            params = set(re.findall(r"\{([^}]+)\}", path))
            if not params or not params <= set(supplied):
                continue
            for operation in item.values():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {name: supplied[name] for name in params},
                }
        if links:
            source["responses"][success].setdefault("links", {}).update(links)


DOCUMENT_KEY = "openapi_document"
"""Where the completed document is kept in ``app.state``."""


def completed_document(app: Litestar, generated: dict[str, Any]) -> dict[str, Any]:
    """``generated`` completed by :func:`complete`, the first time it is served.

    Litestar builds the document on the first request for it and keeps that dict; it is
    completed in place then, once per app, so an app that never serves its document (most
    of the ones tests start) never pays for either.
    """
    if app.state.get(DOCUMENT_KEY) is not generated:
        app.state[DOCUMENT_KEY] = complete(generated, app)
    document: dict[str, Any] = app.state[DOCUMENT_KEY]
    return document


class DocumentJson(JsonRenderPlugin):
    """``/schema/openapi.json``: the completed document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, completed_document(request.app, openapi_schema))
