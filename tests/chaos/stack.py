"""The chaos stack on 127.0.0.1: a private Redis, both emulators, the API and the workers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO

import httpx
import redis

from tests.perf._stack import REPO, emulator, free_port, gateway_env, reset_services, wait_until_up

UPSTREAM_TIMEOUT_S = 2.0
"""The gateway's upstream timeout in the chaos stack; slow answers come after 1.5 times this."""
CHAOS_SETTINGS = {
    "GATEWAY_UPSTREAM_TIMEOUT_S": str(UPSTREAM_TIMEOUT_S),
    "GATEWAY_SYNC_LEASE_S": "10",
    "GATEWAY_SYNC_BACKOFF_MAX_S": "5",
}
"""Short leases and backoff so that work a killed worker held comes back within the run."""


def private_redis() -> tuple[subprocess.Popen[bytes], str, str]:
    """``redis-server`` on a free loopback port, persisting nothing; its process, URL and dir."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="chaos-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            redis.Redis(host="127.0.0.1", port=port).ping()
            return proc, f"redis://127.0.0.1:{port}/0", workdir
        except redis.RedisError:  # not listening yet
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("private redis-server did not start")


@dataclass
class ChaosStack:
    """The processes of one chaos run; workers and the API can be killed and replaced."""

    database_url: str
    redis_url: str
    redis: subprocess.Popen[bytes]
    workdir: str
    volue_port: int
    zf_port: int
    api_port: int
    env: dict[str, str]
    emulators: list[subprocess.Popen[bytes]]
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    worker_kills: int = 0
    api_kills: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def volue_url(self) -> str:
        return f"http://127.0.0.1:{self.volue_port}"

    @property
    def zf_url(self) -> str:
        return f"http://127.0.0.1:{self.zf_port}"

    def start_api(self) -> None:
        """``gateway serve`` on the stack's PostgreSQL and Redis; returns once it answers."""
        with self._log("api") as out:
            self.api = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.api_port)],
                env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            )
        wait_until_up(f"{self.api_url}/health/live", self.api, "gateway serve")

    def kill_api(self) -> None:
        """SIGKILL the API process (whatever it is doing)."""
        if self.api is not None:
            self.api.send_signal(signal.SIGKILL)
            self.api.wait()
            self.api_kills += 1

    def start_worker(self) -> None:
        """One more ``gateway worker`` process."""
        with self._log("worker") as out:
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "worker"], env=self.env, cwd=REPO,
                stdout=out, stderr=subprocess.STDOUT))

    def _log(self, role: str) -> IO[bytes]:
        """A log file for one process (the process keeps its own copy of the handle)."""
        path = os.path.join(self.workdir, f"{role}-{len(self.logs)}.log")
        self.logs.append(path)
        return open(path, "ab")

    def kill_oldest_worker(self) -> None:
        """SIGKILL the oldest worker process."""
        worker = self.workers.pop(0)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        self.worker_kills += 1

    def set_faults(self, plan: dict[str, object]) -> None:
        """Put the same fault plan on both emulators (an empty plan: no faults)."""
        for url in (self.volue_url, self.zf_url):
            httpx.put(f"{url}/_emulator/faults", json=plan, timeout=10).raise_for_status()

    def revoke_tokens(self) -> None:
        """Invalidate every token both emulators issued."""
        for url in (self.volue_url, self.zf_url):
            httpx.post(f"{url}/_emulator/revoke-tokens", timeout=10).raise_for_status()

    def flush_redis(self) -> None:
        """``FLUSHALL`` on the private Redis."""
        redis.Redis.from_url(self.redis_url).flushall()

    def stop(self, *, remove_logs: bool) -> None:
        """Stop every process of the stack; remove its directory (Redis, logs) if asked."""
        procs = [*self.workers, *([self.api] if self.api else []), *self.emulators, self.redis]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if remove_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def start_chaos_stack(database_url: str, *, workers: int = 2) -> ChaosStack:
    """Empty the database, start a private Redis, both emulators, the API and ``workers``."""
    redis_proc, redis_url, workdir = private_redis()
    try:
        await reset_services(database_url, redis_url)
        v_port, z_port, api_port = free_port(), free_port(), free_port()
        emulators = [emulator("volue", v_port), emulator("zaehlerfreunde", z_port)]
    except BaseException:
        redis_proc.kill()
        raise
    env = {**gateway_env(database_url, redis_url, v_port, z_port), **CHAOS_SETTINGS,
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    stack = ChaosStack(database_url, redis_url, redis_proc, workdir, v_port, z_port, api_port,
                       env, emulators)
    try:
        stack.start_api()
        for _ in range(workers):
            stack.start_worker()
    except BaseException:
        stack.stop(remove_logs=False)
        raise
    return stack
