"""The chaos stack on 127.0.0.1: both emulators, the API and the workers, on production settings.

Two back ends: ``postgres`` (the database of ``GATEWAY_TEST_POSTGRES_URL``, emptied, a private
``redis-server`` and separate ``gateway worker`` processes) and ``sqlite`` (a SQLite file in the
run's directory and ``gateway serve`` running the worker in-process). Nothing overrides the
sync settings (leases, backoff, timeouts, circuit): the run sees what production sees.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import httpx
import redis

from gateway.core.settings import UpstreamSettings
from gateway.store.migrate import upgrade_async
from tests.perf._stack import REPO, free_port, gateway_env, reset_services

Backend = Literal["postgres", "sqlite"]
PROVIDERS = ("volue", "zaehlerfreunde")
UPSTREAM_TIMEOUT_S = UpstreamSettings().timeout_s
"""The gateway's upstream timeout: the production default, which the stack does not override."""

STACK_SETTINGS = ("GATEWAY_DATABASE_URL", "GATEWAY_REDIS_URL", "GATEWAY_ADMIN_API_KEY",
                  "GATEWAY_LOG_LEVEL", "GATEWAY_RATE_LIMIT_", "GATEWAY_VOLUE_BASE_URL",
                  "GATEWAY_ZF_BASE_URL")
"""The only ``GATEWAY_*`` settings the stack's processes get: where things are, the API key, no
rate limit for the callers' one key; any other ``GATEWAY_*`` variable of the caller's
environment is left out, so every sync setting is the production default."""


def private_redis(workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    """``redis-server`` on a free loopback port, persisting nothing; its process and URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            redis.Redis(host="127.0.0.1", port=port).ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except redis.RedisError:  # not listening yet
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("private redis-server did not start")

START_WITHIN_S = 180.0
"""How long a process may take to answer after it is started (imports on a loaded machine)."""


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """Return once ``url`` answers; raise if ``proc`` exits or :data:`START_WITHIN_S` passes."""
    deadline = time.monotonic() + START_WITHIN_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode} before it answered")
            try:
                client.get(url)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{what} did not answer within {START_WITHIN_S:.0f} s")


def _emulator(name: str, port: int, workdir: str) -> subprocess.Popen[bytes]:
    """``gateway emulate NAME`` as its own process, logging into the run's directory."""
    with open(os.path.join(workdir, f"{name}-emulator.log"), "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "gateway.cli", "emulate", name, "--port", str(port)],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class ChaosStack:
    """The processes of one chaos run; workers and the API can be killed and replaced."""

    backend: Backend
    database_url: str
    redis_url: str
    workdir: str
    volue_port: int
    zf_port: int
    api_port: int
    env: dict[str, str]
    emulators: list[subprocess.Popen[bytes]]
    redis: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    worker_kills: int = 0
    api_kills: int = 0
    restarting: threading.Lock = field(default_factory=threading.Lock)
    """Held while a process is killed and replaced (the killers run in threads)."""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def volue_url(self) -> str:
        return f"http://127.0.0.1:{self.volue_port}"

    @property
    def zf_url(self) -> str:
        return f"http://127.0.0.1:{self.zf_port}"

    @property
    def worker_count(self) -> int:
        """Processes running the sync engine (the API itself on SQLite)."""
        return len(self.workers) if self.backend == "postgres" else 1

    def url_of(self, provider: str) -> str:
        return self.volue_url if provider == "volue" else self.zf_url

    def start_api(self, *, wait: bool = True) -> None:
        """``gateway serve`` (with the in-process worker on SQLite); returns once it answers,
        or at once without ``wait`` (then :meth:`wait_for_api`)."""
        with self._log("api") as out:
            self.api = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.api_port)],
                env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_for_api()

    def wait_for_api(self) -> None:
        assert self.api is not None
        wait_until_up(f"{self.api_url}/health/live", self.api, "gateway serve")

    def kill_api(self) -> None:
        """SIGKILL the API process (whatever it is doing)."""
        if self.api is not None:
            self.api.send_signal(signal.SIGKILL)
            self.api.wait()
            self.api_kills += 1

    def start_worker(self) -> None:
        """One more ``gateway worker`` process (scale-out only)."""
        with self._log("worker") as out:
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "worker"], env=self.env, cwd=REPO,
                stdout=out, stderr=subprocess.STDOUT))

    def restart_api(self) -> None:
        """SIGKILL the API and start it again."""
        with self.restarting:
            self.kill_api()
            self.start_api()

    def kill_worker(self) -> None:
        """SIGKILL the oldest worker and start another; on SQLite the API, whose worker it is."""
        with self.restarting:
            if self.backend == "sqlite":
                self.kill_api()
                self.start_api()
            else:
                worker = self.workers.pop(0)
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                self.start_worker()
            self.worker_kills += 1

    def _log(self, role: str) -> IO[bytes]:
        """A log file for one process (the process keeps its own copy of the handle)."""
        path = os.path.join(self.workdir, f"{role}-{len(self.logs)}.log")
        self.logs.append(path)
        return open(path, "ab")

    def set_faults(self, plan: dict[str, Any], *providers: str) -> None:
        """Put ``plan`` on the named emulators (both when none is named; ``{}``: no faults)."""
        for provider in providers or PROVIDERS:
            httpx.put(f"{self.url_of(provider)}/_emulator/faults", json=plan,
                      timeout=10).raise_for_status()

    def set_answers(self, *, minimal: bool) -> None:
        """Have both emulators answer only what their documents require (``minimal``), or in full."""
        for provider in PROVIDERS:
            httpx.put(f"{self.url_of(provider)}/_emulator/answers", json={"minimal": minimal},
                      timeout=10).raise_for_status()

    def stats(self, provider: str) -> dict[str, Any]:
        """The emulator's own counters and entity counts."""
        response = httpx.get(f"{self.url_of(provider)}/_emulator/stats", timeout=30)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def revoke_tokens(self) -> None:
        """Invalidate every token both emulators issued."""
        for provider in PROVIDERS:
            httpx.post(f"{self.url_of(provider)}/_emulator/revoke-tokens", timeout=10).raise_for_status()

    def flush_redis(self) -> bool:
        """``FLUSHALL`` on the private Redis; False on SQLite, which has none."""
        if not self.redis_url:
            return False
        redis.Redis.from_url(self.redis_url).flushall()
        return True

    def stop(self, *, remove_logs: bool) -> None:
        """Stop every process of the stack; remove its directory (database, logs) if asked."""
        procs = [*self.workers, *([self.api] if self.api else []), *self.emulators,
                 *([self.redis] if self.redis else [])]
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


async def start_chaos_stack(backend: Backend, postgres_url: str = "", *, workers: int = 2) -> ChaosStack:
    """Start both emulators, the API and (scale-out) a private Redis and ``workers`` workers.

    ``postgres`` empties ``postgres_url``; ``sqlite`` migrates a new file in the run's directory.
    """
    workdir = tempfile.mkdtemp(prefix="chaos-")
    redis_proc: subprocess.Popen[bytes] | None = None
    emulators: list[subprocess.Popen[bytes]] = []
    try:
        if backend == "postgres":
            redis_proc, redis_url = private_redis(workdir)
            database_url = postgres_url
            await reset_services(database_url, redis_url)
        else:
            redis_url = ""
            database_url = f"sqlite+aiosqlite:///{os.path.join(workdir, 'gateway.db')}"
            await upgrade_async(database_url)
        v_port, z_port, api_port = free_port(), free_port(), free_port()
        # Every process starts at once and is waited for afterwards: their imports take the
        # longest part of a start on a busy machine.
        emulators = [_emulator("volue", v_port, workdir), _emulator("zaehlerfreunde", z_port, workdir)]
    except BaseException:
        for proc in [*emulators, *([redis_proc] if redis_proc else [])]:
            proc.kill()
        raise
    env = {name: value for name, value in gateway_env(database_url, redis_url, v_port, z_port).items()
           if not name.startswith("GATEWAY_") or name.startswith(STACK_SETTINGS)}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    stack = ChaosStack(backend, database_url, redis_url, workdir, v_port, z_port, api_port, env,
                       emulators, redis=redis_proc)
    try:
        stack.start_api(wait=False)
        if backend == "postgres":
            for _ in range(workers):
                stack.start_worker()
        for name, port, proc in (("volue", v_port, emulators[0]), ("zaehlerfreunde", z_port, emulators[1])):
            wait_until_up(f"http://127.0.0.1:{port}/_emulator/stats", proc, f"{name} emulator")
        stack.wait_for_api()
    except BaseException:
        stack.stop(remove_logs=False)
        raise
    return stack
