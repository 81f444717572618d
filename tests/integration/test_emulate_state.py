"""``gateway emulate --state FILE``: a standalone emulator saves its state when stopped and loads it again."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx

SPACE = {"name": "Musterhaus", "addressLineOne": "Hauptstraße 1", "postcode": "10115", "city": "Berlin",
         "category": "SINGLE_FAMILY_HOME"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _start(port: int, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "emulate", "zaehlerfreunde", "--port", str(port),
         "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _client(port: int) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, trust_env=False)
    deadline = time.monotonic() + 60
    while True:
        try:
            token = client.post("/partner/auth/token",
                                json={"clientId": "zf-emulator", "clientSecret": "zf-emulator-secret"})
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.2)
    client.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"
    return client


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    return out


def test_state_is_saved_at_stop_and_loaded_at_start(tmp_path: Path) -> None:
    """A space created just before Ctrl-C is there after a restart on the same state file."""
    state, port = tmp_path / "zf.state", _free_port()
    first = _start(port, state)
    try:
        with closing(_client(port)) as api:
            assert api.post("/partner/spaces", json=SPACE).status_code == 200
    finally:
        out = _stop(first)
    assert state.exists(), out
    assert "(new)" in out
    second = _start(port, state)
    try:
        with closing(_client(port)) as api:
            assert api.get("/_emulator/stats").json()["entities"]["spaces"] == 1
    finally:
        out = _stop(second)
    assert "(loaded)" in out
