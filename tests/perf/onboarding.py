"""Onboarding at scale: N customers (one site, one meter, one hot-water tank each) through the batch API.

Run: ``GATEWAY_TEST_POSTGRES_URL=... GATEWAY_TEST_REDIS_URL=... .venv/bin/python -m tests.perf.onboarding``
(``PERF_CUSTOMERS`` defaults to 10,000; ``PERF_NOISY=1`` or ``--noisy`` adds a noisy neighbour:
busy processes that take most of one core while the gateway works).

Processes, all on 127.0.0.1: both emulators (``gateway emulate``), one API
process (``gateway serve`` on PostgreSQL + Redis) and two ``gateway worker``
processes. Prints the seconds until every record is ``synced``, upstream
requests per route against the minimum possible (Volue: users and locations
in batches of 500, one request per resource; Zählerfreunde: one per space and
per device), the CPU seconds each role used (API, workers, emulators, the
PostgreSQL backends of this database, the load generator; the workers' also per
upstream request, counted from when each worker is ready), whether the machine
was otherwise idle (CPU taken by other processes, load average), and a
baseline: the same upstream work done by a plain aiohttp script (the fastest
plain client, no httpx on top) with the same concurrency, against fresh
emulators, as a ratio. Targets: all synced within 60 s; upstream requests
<= 1.1 x minimum; gateway time <= 1.3 x baseline.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from sqlalchemy import text

from gateway.store.db import create_engine
from tests.perf._stack import (
    KEY,
    CpuMeter,
    Idle,
    Stack,
    cpu_seconds,
    database_of,
    emulator,
    services_from_env,
    start_stack,
)

N = int(os.environ.get("PERF_CUSTOMERS", "10000"))
NOISY = os.environ.get("PERF_NOISY") == "1" or "--noisy" in sys.argv[1:]
NOISE_PROCESSES = 2
NOISE_DUTY = 0.4
"""Two processes each busy 40% of the time: most of one core."""


def _burn(duty: float) -> None:
    """Spin ``duty`` of every 100 ms, sleep the rest, until killed."""
    while True:
        until = time.perf_counter() + 0.1 * duty
        while time.perf_counter() < until:
            pass
        time.sleep(0.1 * (1 - duty))


@contextmanager
def noisy_neighbour(enabled: bool) -> Iterator[None]:
    """While the block runs, busy processes take most of one core (when ``enabled``)."""
    procs = [multiprocessing.Process(target=_burn, args=(NOISE_DUTY,), daemon=True)
             for _ in range(NOISE_PROCESSES if enabled else 0)]
    for proc in procs:
        proc.start()
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
            proc.join()
BATCH = 1000
CONCURRENCY = 50


def customer(n: int) -> dict[str, object]:
    return {
        "externalRef": f"onb-{n}", "name": f"Customer {n}", "email": f"c{n}@example.com",
        "sites": [{
            "externalRef": f"onb-s-{n}", "name": f"Home {n}", "kind": "residential",
            "address": {"line1": f"Street {n}", "postcode": "0155", "city": "Oslo", "country": "NO"},
            "coordinates": {"latitude": 59.9, "longitude": 10.7},
            "devices": [
                {"externalRef": f"onb-m-{n}", "kind": "meter", "name": "Meter", "medium": "electricity",
                 "isMain": True, "meterPointId": f"7070575{n:011d}"},
                {"externalRef": f"onb-h-{n}", "kind": "hot_water_tank", "name": "Tank"},
            ],
        }],
    }


async def pending_count(url: str) -> int:
    engine = create_engine(url)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT COUNT(*) FROM provider_links WHERE status <> 'synced'"))).scalar_one()
    await engine.dispose()
    return int(row)


def requests_by_route(port: int) -> dict[str, int]:
    stats = httpx.get(f"http://127.0.0.1:{port}/_emulator/stats").json()
    return {route: sum(by_status.values()) for route, by_status in stats["requests"].items()}


async def baseline(volue: int, zf: int) -> float:
    """The same upstream work, written by hand with aiohttp, same concurrency."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as c:
        async with c.post(f"http://127.0.0.1:{volue}/connect/token", data={
                "grant_type": "client_credentials", "client_id": "volue-emulator",
                "client_secret": "volue-emulator-secret"}) as r:
            token = (await r.json())["access_token"]
        async with c.post(f"http://127.0.0.1:{zf}/partner/auth/token", json={
                "clientId": "zf-emulator", "clientSecret": "zf-emulator-secret"}) as r:
            zf_token = (await r.json())["accessToken"]
        vh = {"Authorization": f"Bearer {token}"}
        zh = {"Authorization": f"Bearer {zf_token}"}
        vb = f"http://127.0.0.1:{volue}/energy-coordination/v1"
        zb = f"http://127.0.0.1:{zf}/partner"
        users = [str(uuid.uuid4()) for _ in range(N)]
        sem = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()

        async def post(url: str, headers: dict[str, str], body: object) -> dict[str, object]:
            async with sem, c.post(url, headers=headers, json=body) as r:
                r.raise_for_status()
                return await r.json()  # type: ignore[no-any-return]

        await asyncio.gather(*(post(f"{vb}/users/batch", vh, {
            "users": [{"userId": u} for u in users[i:i + 500]]}) for i in range(0, N, 500)))
        await asyncio.gather(*(post(f"{vb}/users/locations/batch", vh, {
            "locations": [{"locationId": u, "userId": u, "locationType": "Residential",
                           "coordinates": {"latitude": 59.9, "longitude": 10.7},
                           "meterPointIds": [f"7070575{k:011d}"]}
                          for k, u in enumerate(users[i:i + 500], i)]})
            for i in range(0, N, 500)))

        async def zf_site(k: int) -> None:
            space = (await post(f"{zb}/spaces", zh, {
                "name": f"Home {k}", "addressLineOne": f"Street {k}", "postcode": "0155",
                "city": "Oslo", "category": "HOUSEHOLD"}))["spaceId"]
            await post(f"{zb}/spaces/{space}/devices", zh, {
                "deviceName": "Meter", "deviceType": "SMART_METER", "deviceMedium": "ELECTRICITY",
                "isMainDevice": True, "externalDeviceId": str(uuid.uuid4())})

        async def resource(u: str) -> None:
            await post(f"{vb}/users/{u}/locations/{u}/resources", vh,
                       {"resourceId": str(uuid.uuid4()), "resourceType": "HotWaterTank"})

        await asyncio.gather(*(zf_site(k) for k in range(N)), *(resource(u) for u in users))
        return time.perf_counter() - started


async def main() -> None:
    pg, rd = services_from_env("this benchmark empties them")
    stack = await start_stack(pg, rd)
    v_port, z_port = stack.volue_port, stack.zf_port
    cpu = CpuMeter(stack, database=database_of(pg))
    try:
        with noisy_neighbour(NOISY):
            cpu.mark("start")
            accepted, gateway_s, left, volue, zf = await _onboard(stack, pg)
            cpu.mark("synced")
    finally:
        stack.stop()
    minimum = 2 * -(-N // 500) + N + 2 * N
    upstream = sum(n for route, n in {**volue, **zf}.items() if "token" not in route)
    procs = [emulator("volue", v_port), emulator("zaehlerfreunde", z_port)]
    try:
        def base_cpu() -> tuple[float, float]:
            return cpu_seconds(os.getpid()), sum(cpu_seconds(p.pid) for p in procs)

        idle = Idle()
        client_0, emulators_0 = base_cpu()
        idle.start()
        base_s = await baseline(v_port, z_port)
        client_1, emulators_1 = base_cpu()
        base_idle = idle.stop((client_1 - client_0) + (emulators_1 - emulators_0))
    finally:
        for proc in procs:
            proc.terminate()
    neighbour = (f"a noisy neighbour ({NOISE_PROCESSES} processes busy {NOISE_DUTY:.0%} each)"
                 if NOISY else "no noisy neighbour")
    print(f"measured: {N} customers (1 site, 1 meter, 1 hot-water tank each) in batches of {BATCH} to one "
          f"API process on PostgreSQL + Redis, 2 worker processes, emulators as separate processes, "
          f"all on 127.0.0.1 (2 cores), {neighbour}")
    print(f"accepted by the API in {accepted:.1f} s; all synced after {gateway_s:.1f} s "
          f"({left} links not synced; target 60 s)")
    for route, n in sorted({**volue, **zf}.items()):
        print(f"  {n:7d}  {route}")
    print(f"upstream requests {upstream} vs minimum {minimum}: {upstream / minimum:.3f} x (target <= 1.1)")
    print(f"CPU until synced: {cpu.spent('start', 'synced')}")
    worker_s = cpu.marks["synced"]["workers"] - cpu.marks["start"]["workers"]
    print(f"  worker CPU per upstream request: {worker_s / max(upstream, 1) * 1000:.2f} ms")
    noise = " (the noisy neighbour counts as other)" if NOISY else ""
    print(f"  {cpu.idle('start', 'synced')}{noise}")
    print(f"baseline plain aiohttp script, concurrency {CONCURRENCY}: {base_s:.1f} s; "
          f"gateway/baseline {gateway_s / base_s:.2f} x (target <= 1.3)")
    print(f"  baseline CPU: load generator {client_1 - client_0:.1f} s, emulators "
          f"{emulators_1 - emulators_0:.1f} s; {base_idle}")


async def _onboard(stack: Stack, pg: str) -> tuple[float, float, int, dict[str, int], dict[str, int]]:
    """Post the customers, wait (at most 600 s) until every link is synced; seconds and requests."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {KEY}"}) as c:
        for i in range(0, N, BATCH):
            r = await c.post(f"{stack.api_url}/v1/customers/batch",
                             json={"customers": [customer(k) for k in range(i, min(N, i + BATCH))]})
            r.raise_for_status()
    accepted = time.perf_counter() - started
    while await pending_count(pg) and time.perf_counter() - started < 600:
        await asyncio.sleep(0.5)
    gateway_s = time.perf_counter() - started
    left = await pending_count(pg)
    return (accepted, gateway_s, left, requests_by_route(stack.volue_port),
            requests_by_route(stack.zf_port))


if __name__ == "__main__":
    asyncio.run(main())
