"""`gateway serve` in embedded mode, as a first-time operator runs it: its built-in emulators,
an access log line per request, and a clear refusal when an emulator's port is taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.core.settings import load_settings
from gateway.ops.emulators import EmulatorPortBusy, emulator_servers
from gateway.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    """An environment for `gateway serve` on a fresh SQLite file with free ports for all three servers."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {
        **base,
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_SECRETS_KEY_FILE": str(tmp_path / "secrets-key"),
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_VOLUE_EMULATOR_PORT": str(free_port()),
        "GATEWAY_ZF_EMULATOR_PORT": str(free_port()),
    }


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _serve(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_embedded_serve_logs_an_access_line_per_request(serve_env: dict[str, str]) -> None:
    """The embedded server logs start-up and one access line with a request id for each request."""
    proc = _serve(serve_env)
    base = f"http://127.0.0.1:{serve_env['GATEWAY_PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gateway serve did not answer"
            time.sleep(0.2)
        httpx.get(base + "/v1/customers", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    access = [line for line in err.splitlines() if '"logger": "uvicorn.access"' in line]
    assert any("GET /health/live" in line and '"request_id"' in line for line in access), err[-2000:]
    assert any("GET /v1/customers" in line and " 401" in line for line in access), err[-2000:]
    assert f"Uvicorn running on http://127.0.0.1:{serve_env['GATEWAY_PORT']}" in err


def test_serve_refuses_when_an_emulator_port_is_taken(serve_env: dict[str, str], busy_port: int) -> None:
    """With the Volue emulator's port taken, serve exits 2 and names the setting that points at it."""
    env = {**serve_env, "GATEWAY_VOLUE_EMULATOR_PORT": str(busy_port)}
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "serve"], env=env, cwd=REPO, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"GATEWAY_VOLUE_BASE_URL=http://127.0.0.1:{busy_port}/energy-coordination/v1" in result.stderr
    assert "GATEWAY_VOLUE_EMULATOR_PORT" in result.stderr


def test_emulator_servers_checks_only_emulated_providers(busy_port: int) -> None:
    """A taken port matters only for a provider that is emulated; a configured URL needs no port."""
    emulated = load_settings({}, volue_emulator_port=busy_port, zf_emulator_port=free_port())
    with pytest.raises(EmulatorPortBusy, match="GATEWAY_VOLUE_BASE_URL"):
        emulator_servers(emulated)
    configured = load_settings({}, volue_emulator_port=busy_port, zf_emulator_port=free_port(),
                               volue_base_url="http://127.0.0.1:9/energy-coordination/v1")
    assert [name for name, _ in emulator_servers(configured)] == ["zaehlerfreunde"]


def _wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.2)


def test_serve_uses_standalone_emulators_and_logs_start_and_shutdown(serve_env: dict[str, str]) -> None:
    """With `gateway emulate` already on the emulator ports, serve uses those emulators (the
    customer reaches them) and logs its start-up, access lines and shutdown."""
    emulators = [subprocess.Popen([sys.executable, "-m", "gateway.cli", "emulate", name, "--port",
                                   serve_env[variable]], env=serve_env, cwd=REPO, text=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name, variable in (("volue", "GATEWAY_VOLUE_EMULATOR_PORT"),
                                        ("zaehlerfreunde", "GATEWAY_ZF_EMULATOR_PORT"))]
    volue_stats = f"http://127.0.0.1:{serve_env['GATEWAY_VOLUE_EMULATOR_PORT']}/_emulator/stats"
    base = f"http://127.0.0.1:{serve_env['GATEWAY_PORT']}"
    proc: subprocess.Popen[str] | None = None
    try:
        _wait_for(volue_stats, emulators[0])
        _wait_for(f"http://127.0.0.1:{serve_env['GATEWAY_ZF_EMULATOR_PORT']}/_emulator/stats", emulators[1])
        proc = _serve({**serve_env, "GATEWAY_ADMIN_API_KEY": "first-hour-key"})
        _wait_for(base + "/health/live", proc)
        created = httpx.post(base + "/v1/customers", trust_env=False, timeout=10,
                             headers={"Authorization": "Bearer first-hour-key"},
                             json={"externalRef": "c-1", "name": "Kari", "email": "kari@example.com"})
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 20
        while httpx.get(volue_stats, trust_env=False).json()["entities"]["users"] != 1:
            assert time.monotonic() < deadline, "the standalone Volue emulator got no user"
            time.sleep(0.2)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            err = proc.communicate(timeout=60)[1]
        for emulator in emulators:
            emulator.send_signal(signal.SIGINT)
            emulator.wait(timeout=30)
    assert "volue emulator already running at" in err and "zaehlerfreunde emulator already running" in err
    assert f"{base}/console" in err
    assert "embedded worker started" in err and "embedded worker stopped" in err, err[-3000:]
    assert "Shutting down" in err
    assert any("POST /v1/customers" in line and '"request_id"' in line for line in err.splitlines())


def test_serve_refuses_its_own_taken_port(serve_env: dict[str, str], busy_port: int) -> None:
    """With the API's port taken, serve exits 2 at once and names GATEWAY_PORT."""
    env = {**serve_env, "GATEWAY_PORT": str(busy_port)}
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "serve"], env=env, cwd=REPO, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "GATEWAY_PORT" in result.stderr and str(busy_port) in result.stderr
