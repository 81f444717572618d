"""The image's entrypoint, run directly: each role starts what it should, health checks tell the truth,
and SIGTERM ends every long-running role cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from providers.zaehlerfreunde.emulator.app import create_app as zf_app

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"
UNREACHABLE = "http://127.0.0.1:9"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment the image sets, pointing at this checkout and a fresh SQLite file."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {
        **base,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "GATEWAY_PYTHON": sys.executable,
        "GATEWAY_ROLE_FILE": str(tmp_path / "role"),
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_VOLUE_BASE_URL": UNREACHABLE + "/energy-coordination/v1",
        "GATEWAY_ZF_BASE_URL": UNREACHABLE + "/partner",
    }


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["sh", str(ENTRYPOINT), *args], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}: {proc.communicate()[1][-2000:]}")
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def stop(proc: subprocess.Popen[str], timeout: float = 30.0) -> tuple[int, str]:
    """SIGTERM, as Kubernetes sends it; the process must exit by itself within ``timeout``."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("did not stop on SIGTERM") from None
    return proc.returncode, err


@pytest.fixture
def migrated(env: dict[str, str]) -> dict[str, str]:
    result = run(env, "migrate")
    assert result.returncode == 0, result.stderr
    return env


def test_script_is_valid_posix_shell() -> None:
    """sh -n parses the entrypoint, and it is executable."""
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=False).returncode == 0
    assert os.access(ENTRYPOINT, os.X_OK)


def test_migrate_creates_the_schema_and_is_repeatable(env: dict[str, str], tmp_path: Path) -> None:
    """`migrate` brings an empty database to head; running it again changes nothing and succeeds."""
    import sqlite3

    first = run(env, "migrate")
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(tmp_path / "gateway.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"customers", "outbox_tasks", "alembic_version"} <= tables and revision
    assert run(env, "migrate").returncode == 0


def test_api_serves_health_and_metrics_logs_json_and_stops_on_sigterm(migrated: dict[str, str]) -> None:
    """`api` serves /health/ready and /metrics, HEALTHCHECK passes, logs are JSON, SIGTERM exits 0."""
    env = migrated
    base = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    proc = start(env, "api")
    try:
        ready = wait_for(base + "/health/ready", proc)
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.headers["x-request-id"]
        metrics = httpx.get(base + "/metrics", timeout=5)
        assert "gateway_http_requests_total" in metrics.text
        health = run(env, "healthcheck", timeout=30)
        assert health.returncode == 0, health.stderr
    finally:
        code, err = stop(proc)
    # uvicorn shuts down, then re-raises the SIGTERM it caught: a clean exit either way
    assert code in (0, -signal.SIGTERM), err[-2000:]
    assert "Application shutdown complete" in err
    json_lines = [line for line in err.splitlines() if line.startswith("{")]
    assert json_lines and any('"logger": "uvicorn.error"' in line for line in json_lines), err[-2000:]
    assert run(env, "healthcheck", timeout=30).returncode != 0


def test_api_never_migrates(env: dict[str, str]) -> None:
    """`api` on an empty database starts but leaves the schema alone (migrations are their own role)."""
    import sqlite3

    proc = start(env, "api")
    try:
        wait_for(f"http://127.0.0.1:{env['GATEWAY_PORT']}/health/live", proc)
    finally:
        stop(proc)
    db_file = urlsplit(env["GATEWAY_DATABASE_URL"].replace("sqlite+aiosqlite:///", "file:///")).path
    with sqlite3.connect(db_file) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables


def test_worker_without_redis_refuses_to_start(migrated: dict[str, str]) -> None:
    """`worker` with no GATEWAY_REDIS_URL exits 2 and says why."""
    result = run(migrated, "worker", timeout=60)
    assert result.returncode == 2
    assert "GATEWAY_REDIS_URL" in result.stderr


@pytest.mark.redis
def test_worker_serves_metrics_passes_healthcheck_and_stops_on_sigterm(
    migrated: dict[str, str], redis_url: str
) -> None:
    """`worker` serves /metrics on GATEWAY_WORKER_METRICS_PORT, passes HEALTHCHECK, exits on SIGTERM."""
    import redis

    parts = urlsplit(redis_url)
    own_db = urlunsplit((parts.scheme, parts.netloc, "/13", "", ""))  # not the scale-out tests' queue
    redis.Redis.from_url(own_db).flushdb()
    env = {**migrated, "GATEWAY_REDIS_URL": own_db, "GATEWAY_WORKER_METRICS_PORT": str(free_port())}
    proc = start(env, "worker")
    try:
        metrics = wait_for(f"http://127.0.0.1:{env['GATEWAY_WORKER_METRICS_PORT']}/metrics", proc)
        assert "gateway_task_attempts_total" in metrics.text
        assert "gateway_outbox_tasks" in metrics.text
        health = run(env, "healthcheck", timeout=30)
        assert health.returncode == 0, health.stderr
    finally:
        code, err = stop(proc, timeout=45)
    assert code == 0, err[-2000:]


def test_emulator_role_listens_where_told_and_passes_healthcheck(env: dict[str, str]) -> None:
    """`emulate volue` serves the emulator on GATEWAY_EMULATOR_PORT; its HEALTHCHECK passes."""
    port = free_port()
    env = {**env, "GATEWAY_EMULATOR_HOST": "127.0.0.1", "GATEWAY_EMULATOR_PORT": str(port)}
    proc = start(env, "emulate", "volue")
    try:
        stats = wait_for(f"http://127.0.0.1:{port}/_emulator/stats", proc)
        assert "tokenFetches" in stats.text
        assert run(env, "healthcheck", timeout=30).returncode == 0
    finally:
        stop(proc)


@pytest.fixture
def providers() -> Iterator[dict[str, str]]:
    with serve_in_thread(volue_app()) as volue, serve_in_thread(zf_app()) as zf:
        yield {"GATEWAY_VOLUE_BASE_URL": volue + "/energy-coordination/v1",
               "GATEWAY_ZF_BASE_URL": zf + "/partner"}


def test_check_prints_a_health_summary_without_secrets(migrated: dict[str, str],
                                                       providers: dict[str, str]) -> None:
    """`check` reports database, Redis, both token fetches and the outbox, exits 0, prints no secret."""
    result = run({**migrated, **providers, "COLUMNS": "120"}, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for expected in ("database", "schema revision", "redis", "not configured", "volue token",
                     "zaehlerfreunde token", "token fetched", "outbox backlog"):
        assert expected in out, (expected, out)
    assert "FAILED" not in out
    for secret in ("volue-emulator-secret", "zf-emulator-secret"):
        assert secret not in out + result.stderr


def test_check_fails_when_credentials_are_refused(migrated: dict[str, str],
                                                  providers: dict[str, str]) -> None:
    """A refused client secret makes `check` exit 1 with the provider's line marked FAILED."""
    env = {**migrated, **providers, "COLUMNS": "160", "GATEWAY_VOLUE_CLIENT_SECRET": "wrong-secret-77"}
    result = run(env, "check")
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "volue token" in line)
    assert "FAILED" in line and "AuthError" in line
    assert "wrong-secret-77" not in result.stdout + result.stderr


def test_other_commands_pass_through(env: dict[str, str]) -> None:
    """`gateway ...` runs the CLI and anything else runs as given."""
    helped = run(env, "gateway", "--help", timeout=60)
    assert helped.returncode == 0 and "check" in helped.stdout
    assert run(env, "echo", "through").stdout.strip() == "through"
