"""Meter readings at volume: ingest at the API, delivery to Zählerfreunde, against a plain httpx baseline.

Run: ``GATEWAY_TEST_POSTGRES_URL=... GATEWAY_TEST_REDIS_URL=... .venv/bin/python -m tests.perf.readings``
(``PERF_READINGS`` defaults to 1,000,000, ``PERF_METERS`` to 1,000; this benchmark empties both).

Processes, all on 127.0.0.1: both emulators (``gateway emulate``), one API
process (``gateway serve`` app on PostgreSQL + Redis) and two ``gateway worker``
processes. The meters belong to customers of ten meters each, enrolled at
Zählerfreunde and synced before the clock starts (the tables are new, so
PostgreSQL has no statistics on them yet). Readings go to
``POST /v1/readings`` in requests of 5,000, time-major (every meter's next
readings in each request, as meter-reading workers send them), from
``SENDERS`` concurrent clients.

Prints: accepted readings/s at the API; the CPU seconds each role used (API,
workers, emulators, PostgreSQL server, the load generator) while accepting and
after; delivered readings/s at the emulator
(all readings stored there, counted from the first request); upstream
``POST /devices/readings`` requests against the minimum (readings / 1,000); the
delivery tasks (batches) and their average readings;
peak RSS (VmHWM) of the API and worker processes; whether the machine was
otherwise idle (CPU other processes took, load average); and a baseline: the
same readings pushed straight to a fresh emulator by a plain aiohttp script
(the fastest plain client), 1,000 per request, with the workers' total
concurrency, with the ratio of delivered readings/s to it. Targets: >= 50,000
readings/s accepted with delivery running; delivered >= 0.9 x accepted;
requests <= 1.05 x minimum; every process under 300 MB.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import aiohttp
import httpx
from sqlalchemy import text

from gateway.store.db import create_engine
from tests.perf._stack import (
    KEY,
    CpuMeter,
    Idle,
    cpu_seconds,
    database_of,
    emulator,
    services_from_env,
    start_stack,
)
from tests.perf.onboarding import pending_count

TOTAL = int(os.environ.get("PERF_READINGS", "1000000"))
METERS = int(os.environ.get("PERF_METERS", "1000"))
PER_CUSTOMER = 10
REQUEST = 5000
SENDERS = 4
UPSTREAM_BATCH = 1000
WORKER_CONCURRENCY = 2 * 4
"""Two workers, ``GATEWAY_READINGS_CONCURRENCY`` (4) requests in flight each."""
T0 = 1_700_000_000
ROUTE = "POST /partner/devices/readings"


def customer(n: int) -> dict[str, Any]:
    meters = [{"externalRef": f"rd-m-{n}-{k}", "kind": "meter", "name": f"Meter {k}",
               "medium": "electricity"} for k in range(PER_CUSTOMER)]
    return {
        "externalRef": f"rd-{n}", "name": f"Customer {n}", "email": f"rd{n}@example.com",
        "providers": ["zaehlerfreunde"],
        "sites": [{"externalRef": f"rd-s-{n}", "name": f"Block {n}", "kind": "commercial",
                   "address": {"line1": f"Street {n}", "postcode": "0155", "city": "Oslo",
                               "country": "NO"},
                   "devices": meters}],
    }


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def delivery_batches(pg: str) -> tuple[int, float]:
    """How many reading delivery tasks (batches) there were, and their average readings."""
    engine = create_engine(pg)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT COUNT(*), COALESCE(AVG(size), 0) FROM reading_batches"))).one()
    await engine.dispose()
    return int(row[0]), float(row[1])


def stats(port: int) -> dict[str, Any]:
    return httpx.get(f"http://127.0.0.1:{port}/_emulator/stats").json()  # type: ignore[no-any-return]


async def onboard(client: httpx.AsyncClient, api: str, pg: str) -> list[str]:
    customers = -(-METERS // PER_CUSTOMER)
    for start_at in range(0, customers, 100):
        r = await client.post(f"{api}/v1/customers/batch", json={
            "customers": [customer(n) for n in range(start_at, min(customers, start_at + 100))]})
        r.raise_for_status()
    deadline = time.perf_counter() + 300
    while await pending_count(pg) and time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
    engine = create_engine(pg)
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT id FROM devices WHERE kind = 'meter' ORDER BY external_ref"))).all()
    await engine.dispose()
    return [row.id for row in rows][:METERS]


def request_bodies(meters: list[str]) -> list[dict[str, Any]]:
    per_meter = TOTAL // len(meters)
    flat = ({"deviceId": m, "obisCode": "1-1:1.8.0", "timestamp": T0 + n * 900, "value": n * 0.25}
            for n in range(per_meter) for m in meters)
    bodies: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for item in flat:
        batch.append(item)
        if len(batch) == REQUEST:
            bodies.append({"readings": batch})
            batch = []
    if batch:
        bodies.append({"readings": batch})
    return bodies


async def send_all(client: httpx.AsyncClient, api: str, bodies: list[dict[str, Any]]) -> int:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    import msgspec

    for body in bodies:
        queue.put_nowait(msgspec.json.encode(body))
    accepted = 0

    async def sender() -> None:
        nonlocal accepted
        while not queue.empty():
            payload = queue.get_nowait()
            r = await client.post(f"{api}/v1/readings", content=payload,
                                  headers={"Content-Type": "application/json"})
            r.raise_for_status()
            accepted += r.json()["accepted"]

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return accepted


async def baseline(port: int, meters: list[str], bodies: list[dict[str, Any]]) -> float:
    """The same readings straight to a fresh emulator with plain aiohttp, 1,000 per request."""
    base = f"http://127.0.0.1:{port}/partner"
    connector = aiohttp.TCPConnector(limit=WORKER_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as c:
        async with c.post(f"{base}/auth/token", json={
                "clientId": "zf-emulator", "clientSecret": "zf-emulator-secret"}) as r:
            token = (await r.json())["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        async with c.post(f"{base}/spaces", headers=headers, json={
                "name": "Baseline", "addressLineOne": "Street 1", "postcode": "0155", "city": "Oslo",
                "category": "COMMERCIAL"}) as r:
            space = (await r.json())["spaceId"]
        for meter in meters:
            async with c.post(f"{base}/spaces/{space}/devices", headers=headers, json={
                    "deviceName": "Meter", "deviceType": "SMART_METER", "deviceMedium": "ELECTRICITY",
                    "isMainDevice": False, "externalDeviceId": meter}) as r:
                r.raise_for_status()
        flat = [item for body in bodies for item in body["readings"]]
        chunks = [flat[i:i + UPSTREAM_BATCH] for i in range(0, len(flat), UPSTREAM_BATCH)]
        sem = asyncio.Semaphore(WORKER_CONCURRENCY)

        async def push(chunk: list[dict[str, Any]]) -> None:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for item in chunk:
                grouped.setdefault(item["deviceId"], []).append(
                    {"obisCode": item["obisCode"], "timestamp": item["timestamp"], "value": item["value"]})
            async with sem, c.post(f"{base}/devices/readings", headers=headers, json=[
                    {"externalDeviceId": d, "readings": rs} for d, rs in grouped.items()]) as r:
                r.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(push(chunk) for chunk in chunks))
        return time.perf_counter() - started


async def main() -> None:
    pg, rd = services_from_env("this benchmark empties them")
    stack = await start_stack(pg, rd)
    z_port = stack.zf_port
    api_proc, workers = stack.api, stack.workers
    api = stack.api_url
    try:
        async with httpx.AsyncClient(timeout=300, headers={"Authorization": f"Bearer {KEY}"}) as client:
            meters = await onboard(client, api, pg)
            bodies = request_bodies(meters)
            total = sum(len(b["readings"]) for b in bodies)
            before = stats(z_port)["requests"].get(ROUTE, {})
            cpu = CpuMeter(stack, database=database_of(pg))
            cpu.mark("start")
            started = time.perf_counter()
            accepted = await send_all(client, api, bodies)
            accept_s = time.perf_counter() - started
            cpu.mark("accepted")
            deadline = started + 1800
            while stats(z_port)["entities"]["readings"] < total and time.perf_counter() < deadline:
                await asyncio.sleep(0.2)
            deliver_s = time.perf_counter() - started
            cpu.mark("delivered")
            final = stats(z_port)
            batches, per_batch = await delivery_batches(pg)
        rss = {"api": peak_rss_mb(api_proc.pid), **{f"worker {i + 1}": peak_rss_mb(w.pid)
                                                    for i, w in enumerate(workers)}}
    finally:
        stack.stop()
    requests = sum(final["requests"].get(ROUTE, {}).values()) - sum(before.values())
    minimum = -(-total // UPSTREAM_BATCH)
    fresh = emulator("zaehlerfreunde", z_port)
    try:
        idle = Idle()
        base_cpu = cpu_seconds(os.getpid()) + cpu_seconds(fresh.pid)
        idle.start()
        base_s = await baseline(z_port, meters, bodies)
        base_idle = idle.stop(cpu_seconds(os.getpid()) + cpu_seconds(fresh.pid) - base_cpu)
    finally:
        fresh.terminate()  # type: ignore[attr-defined]
        fresh.wait(30)  # type: ignore[attr-defined]
    print(f"measured: {total:,} readings for {len(meters):,} meters in requests of {REQUEST:,} "
          f"({SENDERS} concurrent senders) to one API process on PostgreSQL + Redis, 2 worker "
          f"processes, emulators as separate processes, all on 127.0.0.1 (2 cores, shared)")
    accepted_rate = accepted / accept_s
    delivered_rate = final["entities"]["readings"] / deliver_s
    print(f"accepted {accepted:,} in {accept_s:.1f} s: {accepted_rate:,.0f} readings/s "
          f"(target >= 50,000)")
    print(f"stored at the emulator: {final['entities']['readings']:,} after {deliver_s:.1f} s: "
          f"{delivered_rate:,.0f} readings/s, {delivered_rate / accepted_rate:.2f} x accepted "
          f"(target >= 0.9); duplicates {final['duplicates']}")
    print(f"upstream POST /devices/readings: {requests:,} vs minimum {minimum:,}: "
          f"{requests / minimum:.3f} x (target <= 1.05)")
    print(f"delivery tasks (batches): {batches:,}, {per_batch:,.0f} readings each on average "
          f"(batch size {UPSTREAM_BATCH:,})")
    print(f"CPU while accepting: {cpu.spent('start', 'accepted')}; "
          f"after that until delivered: {cpu.spent('accepted', 'delivered')}")
    print(f"  while accepting: {cpu.idle('start', 'accepted')}")
    print(f"  until delivered: {cpu.idle('start', 'delivered')}")
    print("peak RSS: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items())
          + " (target < 300 MB each)")
    print(f"baseline plain aiohttp straight to the emulator, {UPSTREAM_BATCH:,} per request, concurrency "
          f"{WORKER_CONCURRENCY}: {total / base_s:,.0f} readings/s ({base_s:.1f} s); "
          f"gateway delivered/baseline {delivered_rate / (total / base_s):.2f} x")
    print(f"  baseline: {base_idle}")


if __name__ == "__main__":
    asyncio.run(main())
