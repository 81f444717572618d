"""Stingy answers: an emulator that answers only what its provider's document requires.

``PUT /_emulator/answers {"minimal": true}`` switches an emulator to the smallest answers
its document allows; ``{"minimal": false}`` restores the default, where every member the
emulator knows is filled. In minimal mode

* a JSON answer built from a wire struct keeps only the struct's required members (the
  wire structs mark as optional exactly what the document does not require; the contract
  tests hold them to it), recursively, plus a tagged union's tag. An optional member is
  still sent when, after the same treatment, it holds a non-empty list or object: the items
  of a listing or an event's payload are what the answer is about, and leaving them out
  would describe another state (no users, an event of no type), not a terser one. Members an
  emulator names in ``keep`` are sent too (each emulator says why);
* an operation whose document allows a bodiless success (``200`` with no schema, ``204``)
  answers with it, without a body or ``Content-Type``, instead of describing what it did;
* token endpoints answer as always (a token answer without its token is no answer).

:func:`encode_answer` is what the emulators' route handlers encode with; the middleware
(:func:`answer_middleware`) tells it, per request, which mode applies and rewrites the
successes of the operations in the emulator's ``bodiless`` table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from providers.emulation.emulation import CONTROL_PREFIX, AnswerMode, Emulation

_minimal: ContextVar[frozenset[str] | None] = ContextVar("emulator_minimal_answers", default=None)
"""In minimal mode, the member names (wire names) kept although optional; None otherwise."""
_encoder = msgspec.json.Encoder()
_PARAM = re.compile(r"\{[^}]*\}")
__all__ = [
    "AnswerMode", "answer_middleware", "encode_answer", "minimal_answers", "required_only", "route_key",
]


def minimal_answers() -> bool:
    """Whether the request being answered gets the document's minimal answers."""
    return _minimal.get() is not None


def encode_answer(value: Any) -> bytes:
    """``value`` as JSON: in full, or reduced to its required members in minimal mode."""
    keep = _minimal.get()
    if keep is None:
        return _encoder.encode(value)
    return _encoder.encode(required_only(value, keep))


def required_only(value: Any, keep: Collection[str] = ()) -> Any:
    """``value`` (wire structs, lists, dicts, scalars) with every optional struct member left out,
    except those holding a non-empty list or object after the same treatment and those named
    in ``keep``."""
    if isinstance(value, msgspec.Struct):
        config = value.__struct_config__
        out: dict[str, Any] = {}
        if isinstance(config.tag_field, str):
            out[config.tag_field] = config.tag
        for field in msgspec.structs.fields(value):
            item = getattr(value, field.name)
            if item is msgspec.UNSET:
                continue
            reduced = required_only(item, keep)
            if field.required or field.encode_name in keep:
                out[field.encode_name] = reduced
            elif isinstance(reduced, list | dict) and reduced:
                out[field.encode_name] = reduced
        return out
    if isinstance(value, list | tuple):
        return [required_only(item, keep) for item in value]
    if isinstance(value, dict):
        return {key: required_only(item, keep) for key, item in value.items()}
    return value


def route_key(method: str, template: str) -> str:
    """``METHOD /path/{}``: a route with its parameters unnamed, comparable across spellings."""
    return f"{method.upper()} {_PARAM.sub('{}', template)}"


def answer_middleware(
    emulation: Emulation,
    *,
    prefix: str = "",
    bodiless: Mapping[str, int] | None = None,
    keep: Collection[str] = (),
) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware applying ``emulation.answers``: the minimal mode for the request's handlers,
    and the bodiless success for the operations in ``bodiless`` (``"POST /webhooks"`` -> the
    status the document allows without a body; paths as the document spells them, below
    ``prefix``)."""
    table = {route_key(*key.split(" ", 1)): status for key, status in (bodiless or {}).items()}
    kept = frozenset(keep)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if (scope["type"] != ScopeType.HTTP or not emulation.answers.minimal
                    or path.startswith(CONTROL_PREFIX) or emulation.is_token_path(path)):
                await app(scope, receive, send)
                return
            template = scope.get("path_template", path)
            if prefix and template.startswith(prefix):
                template = template[len(prefix):]
            status = table.get(route_key(scope.get("method", "GET"), template))
            token = _minimal.set(kept)
            try:
                if status is None:
                    await app(scope, receive, send)
                else:
                    await app(scope, receive, _bodiless_success(send, status))
            finally:
                _minimal.reset(token)

        return middleware

    return factory


def _bodiless_success(send: Send, status: int) -> Send:
    """A ``send`` that turns a success into ``status`` with no body; refusals pass unchanged."""
    state = {"rewrite": False}

    async def rewrite(message: Message) -> None:
        if message["type"] == "http.response.start":
            if 200 <= message["status"] < 300:
                state["rewrite"] = True
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name.lower() not in (b"content-type", b"content-length")]
                if status != 204:
                    headers.append((b"content-length", b"0"))
                await send({**message, "status": status, "headers": headers})
                return
        elif message["type"] == "http.response.body" and state["rewrite"]:
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send(message)

    return rewrite
