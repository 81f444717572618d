"""HTTP plumbing of the Volue emulator: body decoding, query parameters, error bodies.

The spec declares a different error shape per route: some answer 400 with
``application/problem+json`` (``HttpValidationProblemDetails``), most with an
``application/json`` string; some declare 404 with no body, some with a string, and
some declare no 404 or 409 at all (then the refusal is a 400). Each route handler
carries its :class:`ErrorPolicy` in ``opt["errors"]``; :func:`domain_error_handler`
renders a :class:`DomainError` accordingly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Request, Response

from providers.emulation import Emulation, encode_answer
from providers.volue import schemas as s
from providers.volue.emulator.state import Conflict, DomainError, Invalid, NotFound

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_AT_PATH = re.compile(r" - at `(?P<path>[^`]+)`$")
PROBLEM_TYPE_400 = "https://tools.ietf.org/html/rfc9110#section-15.5.1"


@dataclass(frozen=True, slots=True)
class ErrorPolicy:
    """How one route answers refusals, as its responses in the spec declare."""

    problem: bool = False
    not_found: Literal["empty", "string", "bad_request"] = "empty"
    conflict: Literal["empty", "bad_request"] = "bad_request"

    def opt(self) -> dict[str, Any]:
        return {"errors": self}


STRING_400 = ErrorPolicy()
PROBLEM_400 = ErrorPolicy(problem=True)


def has_valid_bearer(emulation: Emulation, header: str) -> bool:
    """Whether an ``Authorization`` header value carries a valid bearer token."""
    return header[:7].lower() == "bearer " and emulation.tokens.is_valid(header[7:].strip())


def json_response(value: Any, status: int = 200) -> Response[bytes]:
    """A JSON answer: in full, or only what the document requires in minimal mode."""
    return Response(
        content=encode_answer(value), status_code=status, media_type="application/json"
    )


def empty_response(status: int = 204) -> Response[bytes]:
    return Response(content=b"", status_code=status)


def problem_response(status: int, detail: str) -> Response[bytes]:
    match = _AT_PATH.search(detail)
    key = match["path"] if match else "$"
    body = s.HttpValidationProblemDetails(
        type=PROBLEM_TYPE_400,
        title="One or more validation errors occurred.",
        status=status,
        detail=detail,
        errors={key: [detail]},
    )
    return Response(
        content=_encoder.encode(body), status_code=status, media_type="application/problem+json"
    )


def bad_request(policy: ErrorPolicy, message: str) -> Response[bytes]:
    if policy.problem:
        return problem_response(400, message)
    return json_response(message, 400)


def domain_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Render a refusal the way the matched route's spec entry declares it."""
    policy: ErrorPolicy = request.route_handler.opt.get("errors", STRING_400)
    message = exc.message if isinstance(exc, DomainError) else str(exc)
    if isinstance(exc, NotFound):
        if policy.not_found == "empty":
            return empty_response(404)
        if policy.not_found == "string":
            return json_response(message, 404)
    if isinstance(exc, Conflict) and policy.conflict == "empty":
        return empty_response(409)
    return bad_request(policy, message)


def decode(body: bytes, type_: type[T]) -> T:
    """Decode a JSON body strictly into ``type_``; refusals raise :class:`Invalid`."""
    decoder: msgspec.json.Decoder[T] | None = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    if not body.strip():
        raise Invalid("A non-empty request body is required.")
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise Invalid(str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise Invalid(f"The request body is not valid JSON: {exc}") from exc


def int_query(request: Request[Any, Any, Any], name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise Invalid(f"The value '{raw}' is not valid for {name}.") from exc


def bool_query(request: Request[Any, Any, Any], name: str) -> bool:
    raw: str | None = request.query_params.get(name)
    if raw is None:
        raise Invalid(f"The {name} query parameter is required.")
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise Invalid(f"The value '{raw}' is not valid for {name}.")
    return lowered == "true"


_TIME_SPAN = re.compile(r"^-?(\d+\.)?\d{1,2}:\d{2}(:\d{2}(\.\d{1,7})?)?$")


def check_time_span(value: str, field: str) -> None:
    """Refuse ``value`` unless it reads as a .NET ``TimeSpan`` such as ``01:00:00``."""
    if not _TIME_SPAN.match(value):
        raise Invalid(f"{field} must be a time span like 01:00:00, got '{value}'")
