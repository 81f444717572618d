"""Running an emulator app under uvicorn: in a background thread or in the current loop."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import uvicorn
from litestar.types import ASGIApp

from providers.emulation.faults import ConnectionDropped


class _DropLogFilter(logging.Filter):
    """Turns a deliberately dropped connection into one line of uvicorn's error log, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ConnectionDropped):
                record.msg, record.args = "connection dropped by the fault plan", ()
                record.exc_info = record.exc_text = None
                record.levelno, record.levelname = logging.INFO, "INFO"
                return True
            exc = exc.__cause__ or exc.__context__
        return True


def install_drop_log_filter() -> None:
    """Log each connection an emulator's fault plan drops as one line (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropLogFilter) for f in logger.filters):
        logger.addFilter(_DropLogFilter())


def _config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    install_drop_log_filter()
    # A request still running when the emulator stops (a client that went away mid-call, a
    # held answer of the fault plan) is cancelled after a moment instead of holding the stop.
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
        timeout_graceful_shutdown=2,
    )


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread; yield its base URL, stop on exit."""
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name="emulator-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("emulator server did not start")
        time.sleep(0.01)
    bound_port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)


async def serve(app: ASGIApp, *, host: str, port: int) -> None:
    """Run ``app`` under uvicorn in the current event loop until it is stopped."""
    await uvicorn.Server(_config(app, host, port)).serve()
