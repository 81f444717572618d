"""Throughput of the emulators' batch and single-entity endpoints, over real HTTP on 127.0.0.1.

Each emulator runs alone in a child process (uvicorn, one event loop, so one
core); this process drives it with several concurrent httpx clients for a fixed
time and prints what it measured against the targets, with the CPU time the
emulator process used per request (utime + stime from ``/proc/<pid>/stat``).

    .venv/bin/python -m tests.perf.emulators [--seconds 10] [--concurrency 8] [--only NAME]

Batches (``--only zaehlerfreunde`` / ``volue``):

* Zählerfreunde ``POST /partner/devices/readings``: 1,000 new readings per request
  (one device per client, distinct timestamps, so every reading is stored).
* Volue ``POST /energy-coordination/v1/users/batch``: 1,000 new users per request.

Target: >= 200 requests/s on each, i.e. >= 200,000 readings (users) per second.

Single entities, one new entity per request, as onboarding sends them
(``--only zaehlerfreunde-single`` / ``volue-single``):

* Zählerfreunde ``POST /partner/spaces``, then ``POST /partner/spaces/{spaceId}/devices``
  spread over the spaces just created (about one device per space).
* Volue ``POST .../users/{userId}/locations/{locationId}/resources``, spread over
  20,000 users with one location each, created beforehand through the batch routes.

Target: <= 1 ms of emulator CPU per request. The httpx clients cost more CPU per
request than the emulator does, so on a small host requests/s mostly measures them.
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
TARGET_CPU_MS = 1.0
SINGLE_USERS = 20_000
ZF_FACTORY = "providers.zaehlerfreunde.emulator.app:create_app"
VOLUE_FACTORY = "providers.volue.emulator.app:create_app"
CLIENT_ID = "perf-client"
CLIENT_SECRET = "perf-secret"
READING_STEP_S = 15
FIRST_READING_S = 1_600_000_000

BodyMaker = Callable[[int, int], bytes]  # (client number, request number) -> body
PathMaker = Callable[[int, int], str]  # (client number, request number) -> path


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


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    items: int = BATCH  # entities per request
    requests: int = 0
    failures: int = 0
    cpu_s: float = float("nan")  # emulator CPU during the measurement
    latencies_ms: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / (self.requests + self.failures or 1)

    def report(self) -> str:
        lat = sorted(self.latencies_ms) or [float("nan")]
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        if self.items == 1:
            met = self.cpu_ms <= TARGET_CPU_MS
            target = f"<= {TARGET_CPU_MS:.0f} ms emulator CPU per request"
        else:
            met = self.rps >= TARGET_RPS
            target = f">= {TARGET_RPS:.0f} requests/s on one core"
        verdict = "meets" if met and not self.failures else "MISSES"
        lines = [
            f"{self.name}",
            f"  measured: {self.requests} requests x {self.items} items in {self.seconds:.1f} s, "
            f"{self.concurrency} concurrent clients, {self.failures} failed",
            f"  throughput: {self.rps:.0f} requests/s = {self.rps * self.items:,.0f} items/s "
            f"(latency p50 {p50:.1f} ms, p99 {p99:.1f} ms)",
            f"  emulator CPU: {self.cpu_s:.2f} s = {self.cpu_ms:.2f} ms per request",
            f"  target: {target} -> {verdict}",
        ]
        return "\n".join(lines + [f"  {note}" for note in self.notes])


async def _drive(
    name: str,
    emulator: Emulator,
    path: str | PathMaker,
    headers: dict[str, str],
    make_body: BodyMaker,
    *,
    seconds: float,
    concurrency: int,
    items: int = BATCH,
) -> Result:
    result = Result(name, seconds, concurrency, items)
    base_url = emulator.base_url
    make_path: PathMaker = (lambda _c, _n: path) if isinstance(path, str) else path
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pid = emulator.process.pid or 0
    cpu_before = _cpu_s(pid)
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
                    make_path(number, n), content=body, headers={"content-type": "application/json"}
                )
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                if response.is_success:
                    result.requests += 1
                else:
                    result.failures += 1
                n += 1

    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    result.seconds = time.perf_counter() - start
    result.cpu_s = _cpu_s(pid) - cpu_before
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
            auth = await _zf_auth(client)
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
                emulator,
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


async def _zf_auth(client: httpx.AsyncClient) -> dict[str, str]:
    """The Authorization header of a fresh Zählerfreunde emulator token."""
    response = await client.post("/partner/auth/token",
                                 json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['accessToken']}"}


async def _volue_auth(client: httpx.AsyncClient) -> dict[str, str]:
    """The Authorization header of a fresh Volue emulator token (client credentials)."""
    response = await client.post("/connect/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def bench_volue(seconds: float, concurrency: int) -> Result:
    """User batch creation of the Volue emulator."""
    emulator = await Emulator.start(VOLUE_FACTORY)
    try:
        async with httpx.AsyncClient(base_url=emulator.base_url) as client:
            auth = await _volue_auth(client)
            result = await _drive(
                "Volue POST /energy-coordination/v1/users/batch",
                emulator,
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


def _space_body(client: int, n: int) -> bytes:
    return msgspec.json.encode(
        {
            "name": f"perf {client}-{n}",
            "addressLineOne": f"Benchmarkweg {n}",
            "postcode": "10115",
            "city": "Berlin",
            "category": "HOUSEHOLD",
        }
    )


def _device_body(client: int, n: int) -> bytes:
    return msgspec.json.encode(
        {
            "deviceName": "Meter",
            "isMainDevice": True,
            "deviceType": "SMART_METER",
            "deviceMedium": "ELECTRICITY",
            "externalDeviceId": f"perf-{client}-{n}",
        }
    )


async def bench_zaehlerfreunde_single(seconds: float, concurrency: int) -> list[Result]:
    """Space, then device creation, one per request, of the Zählerfreunde emulator."""
    emulator = await Emulator.start(ZF_FACTORY)
    try:
        async with httpx.AsyncClient(base_url=emulator.base_url, timeout=60) as client:
            auth = await _zf_auth(client)
            spaces_result = await _drive(
                "Zählerfreunde POST /partner/spaces",
                emulator,
                "/partner/spaces",
                auth,
                _space_body,
                seconds=seconds,
                concurrency=concurrency,
                items=1,
            )
            listed = await client.get(
                "/partner/spaces", headers=auth, params={"pageSize": 2**31 - 1}
            )
            spaces = [space["id"] for space in listed.json()["spaces"]]

            def device_path(number: int, n: int) -> str:
                space = spaces[(number + n * concurrency) % len(spaces)]
                return f"/partner/spaces/{space}/devices"

            devices_result = await _drive(
                "Zählerfreunde POST /partner/spaces/{spaceId}/devices",
                emulator,
                device_path,
                auth,
                _device_body,
                seconds=seconds,
                concurrency=concurrency,
                items=1,
            )
            devices_result.notes.append(await _entities_note(client, emulator))
        return [spaces_result, devices_result]
    finally:
        emulator.stop()


async def _entities_note(client: httpx.AsyncClient, emulator: Emulator) -> str:
    """What the emulator stored and counted as duplicates, and its resident memory."""
    stats = (await client.get("/_emulator/stats")).json()
    return (f"entities {stats['entities']}, duplicates {stats['duplicates']}; "
            f"emulator RSS {_rss_mib(emulator.process.pid or 0):.0f} MiB")


async def bench_volue_single(seconds: float, concurrency: int) -> list[Result]:
    """Location-bound resource creation, one per request, of the Volue emulator."""
    emulator = await Emulator.start(VOLUE_FACTORY)
    try:
        async with httpx.AsyncClient(base_url=emulator.base_url, timeout=60) as client:
            auth = await _volue_auth(client)
            api = "/energy-coordination/v1"
            users = [str(uuid.UUID(int=i)) for i in range(1, SINGLE_USERS + 1)]
            for i in range(0, SINGLE_USERS, BATCH):
                chunk = users[i : i + BATCH]
                created = await client.post(
                    f"{api}/users/batch",
                    headers=auth,
                    json={"users": [{"userId": u} for u in chunk]},
                )
                created.raise_for_status()
                located = await client.post(
                    f"{api}/users/locations/batch",
                    headers=auth,
                    json={
                        "locations": [
                            {
                                "locationId": u,
                                "userId": u,
                                "locationType": "Residential",
                                "coordinates": {"latitude": 59.9, "longitude": 10.7},
                            }
                            for u in chunk
                        ]
                    },
                )
                located.raise_for_status()

            def resource_path(number: int, n: int) -> str:
                user = users[(number + n * concurrency) % len(users)]
                return f"{api}/users/{user}/locations/{user}/resources"

            def resource_body(number: int, n: int) -> bytes:
                return msgspec.json.encode(
                    {"resourceId": f"perf-{number}-{n}", "resourceType": "HotWaterTank"}
                )

            result = await _drive(
                "Volue POST /energy-coordination/v1/users/{userId}/locations/{locationId}/resources",
                emulator,
                resource_path,
                auth,
                resource_body,
                seconds=seconds,
                concurrency=concurrency,
                items=1,
            )
            result.notes.append(await _entities_note(client, emulator))
        return [result]
    finally:
        emulator.stop()


async def _run(seconds: float, concurrency: int, only: str | None) -> None:
    print(
        f"host: {os.cpu_count()} CPUs; each emulator in its own process (one core), "
        f"driven from this process over HTTP/1.1 keep-alive"
    )
    benches: dict[str, Callable[[float, int], Awaitable[Result | list[Result]]]] = {
        "zaehlerfreunde": bench_zaehlerfreunde,
        "volue": bench_volue,
        "zaehlerfreunde-single": bench_zaehlerfreunde_single,
        "volue-single": bench_volue_single,
    }
    for name, bench in benches.items():
        if only and name != only:
            continue
        load = os.getloadavg()[0]
        if load > 0.5 * (os.cpu_count() or 1):
            print(f"warning: load average {load:.1f} before {name}; other work skews the figures")
        try:
            results = await bench(seconds, concurrency)
        except (ImportError, RuntimeError, httpx.HTTPError, KeyError) as exc:
            print(f"{name}: not measured ({type(exc).__name__}: {exc})")
            continue
        for result in results if isinstance(results, list) else [results]:
            print(result.report())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument(
        "--only",
        choices=["zaehlerfreunde", "volue", "zaehlerfreunde-single", "volue-single"],
        default=None,
    )
    args: Any = parser.parse_args(argv)
    asyncio.run(_run(args.seconds, args.concurrency, args.only))


if __name__ == "__main__":
    main()
