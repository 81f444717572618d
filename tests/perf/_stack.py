"""Starting and resetting the processes the benchmarks measure (all on 127.0.0.1)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from sqlalchemy import text

from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_async

REPO = Path(__file__).resolve().parents[2]
KEY = "perf-admin-key"


UNLIMITED = {f"GATEWAY_RATE_LIMIT_{scope}": "0" for scope in (
    "CUSTOMERS_READ", "CUSTOMERS_WRITE", "READINGS_WRITE", "INVITES_WRITE", "OPS")}
"""Benchmarks measure the API's capacity with one key, not that key's rate limit."""


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
            "GATEWAY_ADMIN_API_KEY": KEY, "GATEWAY_LOG_LEVEL": "WARNING", **UNLIMITED,
            "GATEWAY_VOLUE_BASE_URL": f"http://127.0.0.1:{volue_port}/energy-coordination/v1",
            "GATEWAY_ZF_BASE_URL": f"http://127.0.0.1:{zf_port}/partner"}


@dataclass
class Stack:
    """Both emulators, one API process and ``workers`` worker processes on PostgreSQL + Redis."""

    volue_port: int
    zf_port: int
    api_port: int
    api: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    emulators: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def stop(self, timeout_s: float = 30) -> None:
        procs = [*self.emulators, self.api, *self.workers]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout_s)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_BACKEND = re.compile(r"postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")
"""A PostgreSQL backend's title: ``postgres: [cluster: ]user database host(port) state``."""


def postgres_cpu_seconds(database: str | None = None) -> float:
    """CPU seconds used so far by the PostgreSQL server processes on this machine.

    With ``database``, backends serving other databases (other work on a shared
    server) are left out; the server's own background processes are counted.
    """
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() != "postgres":
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            backend = _BACKEND.match(title)
            if database is not None and backend is not None and backend.group(1) != database:
                continue
            total += cpu_seconds(int(entry))
    return total


def machine_cpu_seconds() -> float:
    """CPU seconds every process on this machine has used so far (``/proc/stat``, all cores)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    # user, nice, system, irq, softirq, steal: everything but idle and iowait.
    busy = fields[0] + fields[1] + fields[2] + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def database_of(url: str) -> str:
    """The database name in a SQLAlchemy URL."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


IDLE_CORES = 0.1
"""Other processes using less than this many cores on average: the machine was otherwise idle."""


def idle_verdict(other_s: float, wall_s: float) -> str:
    """What ``other_s`` CPU seconds of other processes in ``wall_s`` say about the machine."""
    cores = other_s / max(wall_s, 1e-9)
    verdict = ("otherwise idle" if cores < IDLE_CORES
               else f"NOT idle: other processes took {cores:.2f} of {os.cpu_count()} cores")
    return f"machine {verdict} (other processes {other_s:.1f} s CPU in {wall_s:.1f} s; " \
           f"load average {load_average()})"


class Idle:
    """Whether the machine was otherwise idle between ``start`` and ``stop``: CPU used by
    processes outside the measured roles, against the wall time."""

    def __init__(self) -> None:
        self._wall = 0.0
        self._machine = 0.0
        self.other_s = 0.0
        self.wall_s = 0.0

    def start(self) -> None:
        self._wall, self._machine = time.perf_counter(), machine_cpu_seconds()

    def stop(self, measured_s: float) -> str:
        """The verdict, given the CPU seconds the measured roles used in between."""
        self.wall_s = time.perf_counter() - self._wall
        self.other_s = max(0.0, machine_cpu_seconds() - self._machine - measured_s)
        return idle_verdict(self.other_s, self.wall_s)


class CpuMeter:
    """CPU seconds per role (API, workers, emulators, PostgreSQL, this process) between two marks.

    PostgreSQL counts the backends of ``database`` (all backends when it is not given) and
    the server's background processes. Each mark also reads the machine's total, so
    :meth:`idle` says how much CPU other processes took in between.
    """

    def __init__(self, stack: Stack, *, database: str | None = None) -> None:
        self.stack = stack
        self.database = database
        self.marks: dict[str, dict[str, float]] = {}
        self.times: dict[str, tuple[float, float]] = {}

    def read(self) -> dict[str, float]:
        s = self.stack
        return {"api": cpu_seconds(s.api.pid), "workers": sum(cpu_seconds(w.pid) for w in s.workers),
                "emulators": sum(cpu_seconds(e.pid) for e in s.emulators),
                "postgres": postgres_cpu_seconds(self.database), "load generator": cpu_seconds(os.getpid())}

    def mark(self, name: str) -> None:
        self.marks[name] = self.read()
        self.times[name] = (time.perf_counter(), machine_cpu_seconds())

    def spent(self, since: str, until: str) -> str:
        """``role 1.2 s, ...`` between two marks."""
        a, b = self.marks[since], self.marks[until]
        return ", ".join(f"{role} {b[role] - a[role]:.1f} s" for role in a)

    def idle(self, since: str, until: str) -> str:
        """Whether anything but the measured roles used CPU between two marks."""
        a, b = self.marks[since], self.marks[until]
        measured = sum(b[role] - a[role] for role in a)
        (wall_a, machine_a), (wall_b, machine_b) = self.times[since], self.times[until]
        return idle_verdict(max(0.0, machine_b - machine_a - measured), wall_b - wall_a)


def services_from_env(what: str) -> tuple[str, str]:
    """The PostgreSQL and Redis URLs a benchmark may empty, or exit saying how to set them."""
    pg = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    rd = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if not pg or not rd:
        sys.exit(f"set GATEWAY_TEST_POSTGRES_URL and GATEWAY_TEST_REDIS_URL ({what})")
    return pg, rd


async def start_stack(pg: str, rd: str, *, workers: int = 2) -> Stack:
    """Reset the services and start the emulators, the API and the workers."""
    await reset_services(pg, rd)
    v_port, z_port, api_port = free_port(), free_port(), free_port()
    emulators = [emulator("volue", v_port), emulator("zaehlerfreunde", z_port)]
    env = gateway_env(pg, rd, v_port, z_port)
    api = start("gateway.app:create_app", api_port, env)
    worker_procs = []
    for _ in range(workers):
        # Each worker's metrics port answers once its start-up is over, so the benchmark's
        # CPU figures count the work, not the imports.
        metrics_port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker"],
                                env={**env, "GATEWAY_WORKER_METRICS_PORT": str(metrics_port)})
        wait_until_up(f"http://127.0.0.1:{metrics_port}/metrics", proc, "gateway worker")
        worker_procs.append(proc)
    profile_to = os.environ.get("PERF_PROFILE_DIR")
    if profile_to:
        profile(profile_to, {"api": api, **{f"worker-{i + 1}": w for i, w in enumerate(worker_procs)}})
    return Stack(v_port, z_port, api_port, api, worker_procs, emulators)


def profile(directory: str, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Sample each process with py-spy until it exits (``PERF_PROFILE_DIR``): collapsed stacks
    in ``NAME.txt``, for :mod:`tests.perf.profile_report`."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(directory).mkdir(parents=True, exist_ok=True)
    for name, proc in procs.items():
        subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--format", "raw", "--rate", "200",
                          "--nonblocking", "-o", str(Path(directory) / f"{name}.txt")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
