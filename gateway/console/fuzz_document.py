"""An OpenAPI 3.1 document of the console's pages and form actions, for fuzzing them.

The console is left out of the served ``/schema/openapi.json`` (the API's clients are
generated from it), so its routes have no document of their own. This one is made by
Litestar's schema generation from the console's own controllers, with ``include_in_schema``
turned on for a copy of each, so its paths, parameters and form bodies (URL-encoded and
multipart, from the same msgspec form types the handlers take) cannot drift from the routes.

Litestar documents every answer as its success code plus a JSON 400; the console answers
differently, so each operation's answers are replaced by what the console sends: the
success code of the handler (a page, a 303 back to a page, or the drift pages' 502 when a
provider cannot be listed) and the refusals of :mod:`gateway.console.controllers` (problem
JSON or an error page). A form whose every field has a default is documented as optional,
as the handlers take it; free text (fields and parameters) has the served document's no-NUL
pattern, as the input guard refuses U+0000 in both.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from gateway.console.controllers import CONTROLLERS
from gateway.http.contract import _refuse_nul as refuse_nul

PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}
PAGE = {"text/html": {"schema": {"type": "string"}}}
REFUSALS = {
    "400": "A form field or parameter refused (the field is named)",
    "401": "No console session (form posts), or a wrong API key (sign-in)",
    "403": "The form's CSRF token refused, or a key without the console scope (sign-in)",
    "404": "The record named is unknown",
    "409": "The record's state does not allow the action",
    "413": "The body is larger than the route takes",
    "429": "Too many failed sign-ins",
}
"""Every refusal a console route may answer, with what it means."""


def _answers(method: str, success: str, path: str) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if success == "303":
        answers["303"] = {"description": "Done: back to a page (Location)"}
    else:
        answers[success] = {"description": "The page", "content": PAGE}
    if method == "get":
        answers["303"] = {"description": "No console session: to the sign-in form (Location)"}
    if path == "/console/onboarding/run":
        answers["200"] = {"description": "The file's problems, by line and column", "content": PAGE}
    for code, meaning in REFUSALS.items():
        answers[code] = {"description": meaning, "content": {**PROBLEM, **PAGE}}
    if path.startswith("/console/drift/"):
        answers["502"] = {"description": "The provider could not be listed (the page says why)",
                          "content": PAGE}
    return answers


def console_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every console route but its static assets."""
    controllers = [type(c.__name__, (c,), {"include_in_schema": True})
                   for c in CONTROLLERS]
    app = Litestar(route_handlers=controllers,
                   openapi_config=OpenAPIConfig(title="Energy gateway console (form operations)",
                                                version="1", create_examples=False))
    document = app.openapi_schema.to_schema()
    forms = document.get("components", {}).get("schemas", {})
    refuse_nul(list(forms.values()))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            refuse_nul([parameter["schema"] for parameter in operation.get("parameters", [])])
            success = next(code for code in operation["responses"] if code[0] in "23")
            operation["responses"] = _answers(method, success, path)
            body = operation.get("requestBody")
            if body is not None:
                # a form whose every field has a default may be left out (its token then in the header)
                (media,) = body["content"].values()
                form = forms[media["schema"]["$ref"].rsplit("/", 1)[-1]]
                body["required"] = bool(form.get("required"))
    return document
