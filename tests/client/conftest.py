"""Fixtures for the Python client's tests: the package on the path and a live gateway over HTTP."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.core.settings import load_settings
from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from providers.zaehlerfreunde.emulator.app import create_app as zf_app
from tests.conftest import ADMIN_KEY

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "python"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))


@pytest.fixture
def emulators() -> Iterator[dict[str, Any]]:
    volue, zf = volue_app(), zf_app()
    with serve_in_thread(volue) as volue_url, serve_in_thread(zf) as zf_url:
        yield {"volue": volue, "zf": zf, "volue_url": volue_url, "zf_url": zf_url}


def serve_gateway(sqlite_url: str, emulators: dict[str, Any], **overrides: Any) -> Any:
    """The gateway (embedded worker, SQLite) under uvicorn on 127.0.0.1; a context manager
    yielding its base URL."""
    settings = load_settings(
        {}, database_url=sqlite_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=2.0, **overrides,
    )
    return serve_in_thread(create_app(settings))


@pytest.fixture
def gateway_url(sqlite_url: str, emulators: dict[str, Any]) -> Iterator[str]:
    with serve_gateway(sqlite_url, emulators) as url:
        yield url


class LosingProxy:
    """A TCP proxy on 127.0.0.1 in front of the gateway that, while ``lose_next`` is set, lets
    one request through, waits for the gateway's answer to begin and then closes the caller's
    connection without passing the answer on. ``requests`` keeps the bytes of each request."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.lose_next = False
        self.requests: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                caller, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(caller,), daemon=True).start()

    def _serve(self, caller: socket.socket) -> None:
        gateway = socket.create_connection(self.upstream)
        try:
            while True:
                request = self._read_request(caller)
                if not request:
                    return
                self.requests.append(request)
                gateway.sendall(request)
                if self.lose_next:
                    self.lose_next = False
                    gateway.recv(1)  # the gateway has answered: the request was accepted
                    return  # both closed below, the answer never reaches the caller
                answer = self._read_answer(gateway)
                caller.sendall(answer)
        except OSError:
            return
        finally:
            caller.close()
            gateway.close()

    @staticmethod
    def _read_message(sock: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    _read_request = _read_message
    _read_answer = _read_message

    def close(self) -> None:
        self._stop = True
        self.server.close()
