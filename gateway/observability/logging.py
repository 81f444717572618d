"""Structured logs: structlog over the standard library, JSON in production, readable in a terminal.

:func:`configure_logging` routes every log line (the gateway's, uvicorn's,
arq's) through one processor chain: context bound with
``structlog.contextvars`` (request id, task id, provider, customer id), level,
UTC timestamp, then :func:`redact_event`, which removes secrets and tokens, and
last the renderer. ``GATEWAY_LOG_FORMAT`` picks ``json`` or ``console``;
``auto`` (the default) is JSON unless the stream is a terminal.

:class:`RequestIdMiddleware` takes the caller's ``X-Request-ID`` (or makes
one), binds it for the request's log lines and echoes it in the response.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, MutableMapping
from typing import IO, TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

LOG_FORMATS = ("auto", "json", "console")
REDACTED = "[redacted]"

_SECRET_KEY = re.compile(r"secret|token|password|passwd|authorization|api_?key|credential|cookie", re.I)
_SAFE_KEYS = frozenset({"event", "logger", "level", "timestamp", "request_id", "task_id", "provider",
                        "customer_id", "queue", "exception"})
_SECRET_TEXT = [
    # Authorization: Bearer <token> / Basic <credentials>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), r"\1 " + REDACTED),
    # token or secret fields in JSON, form or key=value text
    (re.compile(r"""(?ix)
        (["']?(?:access_?token|refresh_?token|id_?token|client_?secret|clientsecret|accesstoken|
               api_?key|password|secret)["']?\s*[:=]\s*["']?)
        [^"'&\s,;}]+"""), r"\1" + REDACTED),
]
_known_secrets: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    """Remember configured secret values; any log line containing one has it replaced."""
    _known_secrets.update(v for v in values if v and len(v) >= 4)


def redact_text(text: str) -> str:
    """``text`` with bearer credentials, token/secret fields and known secret values removed."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret_key(k, v) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(repr(value))


def _is_secret_key(key: object, value: object) -> bool:
    return (isinstance(key, str) and key not in _SAFE_KEYS and bool(_SECRET_KEY.search(key))
            and value not in (None, "", 0))


def redact_event(_logger: Any, _method: str,
                 event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: secret-named fields are blanked, every other value is scrubbed."""
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        event_dict[key] = REDACTED if _is_secret_key(key, value) else _redact_value(value)
    return event_dict


def _renderer(fmt: str, stream: IO[str]) -> Any:
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    if fmt == "json":
        return structlog.processors.JSONRenderer(sort_keys=False)
    return structlog.dev.ConsoleRenderer(colors=getattr(stream, "isatty", lambda: False)(),
                                         exception_formatter=structlog.dev.plain_traceback)


def _drop_color_message(_logger: Any, _method: str,
                        event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """uvicorn adds an ANSI-coloured copy of each message; the plain one is enough."""
    event_dict.pop("color_message", None)
    return event_dict


_SHARED: list[Any] = [
    _drop_color_message,
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
    redact_event,
]


def configure_logging(*, level: str = "INFO", fmt: str = "auto", stream: IO[str] | None = None,
                      secrets: Iterable[str] = ()) -> logging.Handler:
    """Send all logging to ``stream`` (default stderr) in ``fmt``; return the installed handler.

    The root logger's handlers are replaced, so calling it again (after a library
    configured logging of its own) restores this set-up.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, not {fmt!r}")
    register_secrets(secrets)
    target = stream if stream is not None else sys.stderr
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *_SHARED,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(target)
    handler.set_name("gateway")
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_SHARED],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _renderer(fmt, target)],
    ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("httpx", "httpcore"):
        # their INFO lines repeat every upstream request; the sync history has them
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # one INFO line per alembic plugin on every `gateway db upgrade` says nothing to an operator
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, root.level))
    arq = logging.getLogger("arq.worker")
    if not any(isinstance(f, QuietCrons) for f in arq.filters):
        arq.addFilter(QuietCrons())
    return handler


_IDLE_RESULT = re.compile(r"None|False|[\[({]?[\s0,]*[\])}]?")


class QuietCrons(logging.Filter):
    """Drops arq's two INFO lines per cron run (``→ cron:…`` as it starts, ``← cron:… ● result``
    as it ends) when the run did nothing (its result is None, 0 or empty): an idle worker's
    crons every few seconds would otherwise fill the log. A cron that did something keeps its
    end line; failures, retries and every other job keep all their lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.args, tuple) or len(record.args) < 2:
            return True
        ref = str(record.args[1])
        if not ref.startswith("cron:"):
            return True
        if record.msg == "%6.2fs → %s(%s)%s":
            return False
        if record.msg == "%6.2fs ← %s ● %s" and len(record.args) == 3:
            return not _IDLE_RESULT.fullmatch(str(record.args[2]).strip())
        return True


def route_uvicorn_logs() -> None:
    """Send uvicorn's loggers through the root handler (uvicorn installs handlers of its own)."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def configure_logging_from_env(environ: Mapping[str, str] | None = None) -> logging.Handler:
    """:func:`configure_logging` from ``GATEWAY_LOG_LEVEL`` and ``GATEWAY_LOG_FORMAT``; a bad value
    falls back to the default here and is reported when the settings are read."""
    env = os.environ if environ is None else environ
    level = env.get("GATEWAY_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    fmt = env.get("GATEWAY_LOG_FORMAT", "auto").strip().lower() or "auto"
    if level not in logging.getLevelNamesMapping():
        level = "INFO"
    handler = configure_logging(level=level, fmt=fmt if fmt in LOG_FORMATS else "auto")
    route_uvicorn_logs()
    return handler


def get_logger(name: str) -> Any:
    """A structlog logger; its lines carry whatever context is bound."""
    return structlog.stdlib.get_logger(name)


_access = logging.getLogger("gateway.access")
"""One line per request: DEBUG, or ERROR when the answer is a 5xx other than 503 (refused while the
database is away: the outage is logged once, when it begins, not once per request)."""
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
REQUEST_ID_HEADER = b"x-request-id"


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, otherwise a new one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """ASGI middleware: bind ``request_id`` to the request's log lines and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":  # ScopeType.HTTP, without importing Litestar
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        encoded = request_id.encode("latin-1")
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, encoded))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # An HTTP error raised before the app's own handlers run (the CSRF check, say) is
                # answered by the server's outer handler with its status: log that, not a 500.
                raised = getattr(exc, "status_code", None)
                if isinstance(raised, int) and 400 <= raised < 600:
                    status = raised
                raise
            finally:
                level = logging.ERROR if status >= 500 and status != 503 else logging.DEBUG
                if _access.isEnabledFor(level):
                    _access.log(level, "request", extra={
                        "method": scope.get("method"), "route": scope.get("path_template"),
                        "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    })
