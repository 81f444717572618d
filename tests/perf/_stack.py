"""Starting and resetting the processes the benchmarks measure (all on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis
from sqlalchemy import text

from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_async

REPO = Path(__file__).resolve().parents[2]
KEY = "perf-admin-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(400):
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} did not start")


def start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """One uvicorn process serving ``app`` (``module:attr``; ``create_app`` is a factory)."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]
    if app.endswith("create_app"):
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO)
    probe = "/health/live" if "gateway" in app else "/bare/x"
    wait_until_up(f"http://127.0.0.1:{port}{probe}", proc, app)
    return proc


def emulator(name: str, port: int) -> subprocess.Popen[bytes]:
    """``gateway emulate NAME`` as its own process."""
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "emulate", name, "--port", str(port)],
                            cwd=REPO)
    wait_until_up(f"http://127.0.0.1:{port}/_emulator/stats", proc, f"{name} emulator")
    return proc


async def reset_services(pg: str, rd: str) -> None:
    """An empty, migrated database and an empty Redis database."""
    engine = create_engine(pg)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await upgrade_async(pg)
    redis.Redis.from_url(rd).flushdb()


def gateway_env(pg: str, rd: str, volue_port: int, zf_port: int) -> dict[str, str]:
    """Settings for API and worker processes using the two emulator processes."""
    return {**os.environ, "GATEWAY_DATABASE_URL": pg, "GATEWAY_REDIS_URL": rd,
            "GATEWAY_ADMIN_API_KEY": KEY, "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_VOLUE_BASE_URL": f"http://127.0.0.1:{volue_port}/energy-coordination/v1",
            "GATEWAY_ZF_BASE_URL": f"http://127.0.0.1:{zf_port}/partner"}
