"""Throughput of the emulators' batch endpoints, over real HTTP on 127.0.0.1.

Each emulator runs alone in a child process (uvicorn, one event loop, so one
core); this process drives it with several concurrent httpx clients for a fixed
time and prints what it measured against the targets.

    .venv/bin/python -m tests.perf.emulators [--seconds 10] [--concurrency 8]

* Zählerfreunde ``POST /partner/devices/readings``: 1,000 new readings per request
  (one device per client, distinct timestamps, so every reading is stored).
* Volue ``POST /energy-coordination/v1/users/batch``: 1,000 new users per request.

Target: >= 200 requests/s on each, i.e. >= 200,000 readings (users) per second.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

HOST = "127.0.0.1"
BATCH = 1000
TARGET_RPS = 200.0
ZF_FACTORY = "providers.zaehlerfreunde.emulator:create_app"
VOLUE_FACTORY = "providers.volue.emulator:create_app"
CLIENT_ID = "perf-client"
CLIENT_SECRET = "perf-secret"
READING_STEP_S = 15
FIRST_READING_S = 1_600_000_000

BodyMaker = Callable[[int, int], bytes]  # (client number, request number) -> body


def _serve(factory: str, port: int) -> None:
    """Child process: build the emulator and serve it until terminated."""
    from providers.emulation import serve

    module, name = factory.split(":")
    app = getattr(importlib.import_module(module), name)(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    asyncio.run(serve(app, host=HOST, port=port))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Emulator:
    """A running emulator child process."""

    process: multiprocessing.process.BaseProcess
    base_url: str

    @classmethod
    async def start(cls, factory: str) -> Emulator:
        port = _free_port()
        ctx = multiprocessing.get_context("spawn")
        process = ctx.Process(target=_serve, args=(factory, port), daemon=True)
        process.start()
        base_url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient(base_url=base_url) as client:
            while True:
                try:
                    if (await client.get("/_emulator/stats")).status_code == 200:
                        return cls(process, base_url)
                except httpx.TransportError:
                    pass
                if not process.is_alive() or time.monotonic() > deadline:
                    process.terminate()
                    raise RuntimeError(f"{factory} did not start")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


@dataclass
class Result:
    name: str
    seconds: float
    concurrency: int
    requests: int = 0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def report(self) -> str:
        lat = sorted(self.latencies_ms) or [float("nan")]
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        verdict = "meets" if self.rps >= TARGET_RPS and not self.failures else "MISSES"
        lines = [
            f"{self.name}",
            f"  measured: {self.requests} requests x {BATCH} items in {self.seconds:.1f} s, "
            f"{self.concurrency} concurrent clients, {self.failures} failed",
            f"  throughput: {self.rps:.0f} requests/s = {self.rps * BATCH:,.0f} items/s "
            f"(latency p50 {p50:.1f} ms, p99 {p99:.1f} ms)",
            f"  target: >= {TARGET_RPS:.0f} requests/s on one core -> {verdict}",
        ]
        return "\n".join(lines + [f"  {note}" for note in self.notes])


async def _drive(
    name: str,
    base_url: str,
    path: str,
    headers: dict[str, str],
    make_body: BodyMaker,
    *,
    seconds: float,
    concurrency: int,
) -> Result:
    result = Result(name, seconds, concurrency)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    start = time.perf_counter()
    deadline = start + seconds

    async def client_loop(number: int) -> None:
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, limits=limits, timeout=30
        ) as client:
            n = 0
            while time.perf_counter() < deadline:
                body = make_body(number, n)
                t0 = time.perf_counter()
                response = await client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                if response.is_success:
                    result.requests += 1
                else:
                    result.failures += 1
                n += 1

    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    result.seconds = time.perf_counter() - start
    return result


def _readings_body(devices: list[str]) -> BodyMaker:
    encode = msgspec.json.encode

    def make(client: int, n: int) -> bytes:
        first = FIRST_READING_S + n * BATCH * READING_STEP_S
        readings = [
            {"obisCode": "1-1:1.8.0", "timestamp": first + i * READING_STEP_S, "value": i * 0.25}
            for i in range(BATCH)
        ]
        return encode([{"externalDeviceId": devices[client], "readings": readings}])

    return make


async def bench_zaehlerfreunde(seconds: float, concurrency: int) -> Result:
    """Readings ingestion of the Zählerfreunde emulator."""
    emulator = await Emulator.start(ZF_FACTORY)
    try:
        async with httpx.AsyncClient(base_url=emulator.base_url) as client:
            token = (
                await client.post(
                    "/partner/auth/token",
                    json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET},
                )
            ).json()["accessToken"]
            auth = {"authorization": f"Bearer {token}"}
            space = (
                await client.post(
                    "/partner/spaces",
                    headers=auth,
                    json={
                        "name": "perf",
                        "addressLineOne": "Benchmarkweg 1",
                        "postcode": "10115",
                        "city": "Berlin",
                        "category": "APARTMENT_BUILDING",
                    },
                )
            ).json()["spaceId"]
            devices = []
            for i in range(concurrency):
                external = f"perf-meter-{i}"
                await client.post(
                    f"/partner/spaces/{space}/devices",
                    headers=auth,
                    json={
                        "deviceName": external,
                        "isMainDevice": i == 0,
                        "deviceType": "SMART_METER",
                        "deviceMedium": "ELECTRICITY",
                        "externalDeviceId": external,
                    },
                )
                devices.append(external)
            result = await _drive(
                "Zählerfreunde POST /partner/devices/readings",
                emulator.base_url,
                "/partner/devices/readings",
                auth,
                _readings_body(devices),
                seconds=seconds,
                concurrency=concurrency,
            )
            stats = (await client.get("/_emulator/stats")).json()
        stored = stats["entities"]["readings"]
        result.notes.append(
            f"stored {stored:,} readings ({stats['duplicates'].get('reading', 0)} duplicates); "
            f"emulator RSS {_rss_mib(emulator.process.pid or 0):.0f} MiB"
        )
        if stored != result.requests * BATCH:
            result.notes.append(f"MISMATCH: expected {result.requests * BATCH:,} stored")
        return result
    finally:
        emulator.stop()


def _users_body(client: int, n: int) -> bytes:
    users = [{"userId": str(uuid.UUID(int=(client << 64) | (n * BATCH + i)))} for i in range(BATCH)]
    return msgspec.json.encode({"users": users})


async def bench_volue(seconds: float, concurrency: int) -> Result:
    """User batch creation of the Volue emulator."""
    emulator = await Emulator.start(VOLUE_FACTORY)
    try:
        async with httpx.AsyncClient(base_url=emulator.base_url) as client:
            response = await client.post(
                "/connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            )
            response.raise_for_status()
            auth = {"authorization": f"Bearer {response.json()['access_token']}"}
            result = await _drive(
                "Volue POST /energy-coordination/v1/users/batch",
                emulator.base_url,
                "/energy-coordination/v1/users/batch",
                auth,
                _users_body,
                seconds=seconds,
                concurrency=concurrency,
            )
            stats = (await client.get("/_emulator/stats")).json()
        result.notes.append(
            f"entities {stats.get('entities')}; emulator RSS "
            f"{_rss_mib(emulator.process.pid or 0):.0f} MiB"
        )
        return result
    finally:
        emulator.stop()


async def _run(seconds: float, concurrency: int, only: str | None) -> None:
    print(
        f"host: {os.cpu_count()} CPUs; each emulator in its own process (one core), "
        f"driven from this process over HTTP/1.1 keep-alive"
    )
    benches: dict[str, Callable[[float, int], Awaitable[Result]]] = {
        "zaehlerfreunde": bench_zaehlerfreunde,
        "volue": bench_volue,
    }
    for name, bench in benches.items():
        if only and name != only:
            continue
        load = os.getloadavg()[0]
        if load > 0.5 * (os.cpu_count() or 1):
            print(f"warning: load average {load:.1f} before {name}; other work skews the figures")
        try:
            result = await bench(seconds, concurrency)
        except (ImportError, RuntimeError, httpx.HTTPError, KeyError) as exc:
            print(f"{name}: not measured ({type(exc).__name__}: {exc})")
            continue
        print(result.report())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--only", choices=["zaehlerfreunde", "volue"], default=None)
    args: Any = parser.parse_args(argv)
    asyncio.run(_run(args.seconds, args.concurrency, args.only))


if __name__ == "__main__":
    main()
