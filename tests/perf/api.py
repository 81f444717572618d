"""API throughput on PostgreSQL: GET /v1/customers/{id} and POST /v1/customers, one API process.

Run: ``GATEWAY_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test
.venv/bin/python -m tests.perf.api``

Starts the gateway (no worker, no emulators: the API path only) and, as the
baseline, a bare Litestar handler doing one primary-key select, each as one
uvicorn process on 127.0.0.1; drives each with ``CONCURRENCY`` httpx clients
for ``SECONDS`` seconds; prints requests/s, p50 and p99 latency, and the ratio.
Targets: >= 1,500 GET/s and >= 500 POST/s per process, GET ratio >= 0.6.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from gateway.store.migrate import upgrade_async
from tests.perf._stack import KEY, free_port, start

REPO = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("PERF_SECONDS", "8"))
CONCURRENCY = int(os.environ.get("PERF_CONCURRENCY", "32"))


Requester = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def drive(make_request: Requester) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + SECONDS
    counter = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline:
            counter += 1
            started = time.perf_counter()
            response = await make_request(client, counter)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors += 1

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers={"Authorization": f"Bearer {KEY}"}) as c:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "errors": errors,
            "requests": len(latencies)}


def body(n: int) -> dict[str, object]:
    return {"externalRef": f"perf-{os.getpid()}-{n}-{time.time_ns()}", "name": "Perf Customer",
            "email": "perf@example.com", "providers": ["volue"]}


async def main() -> None:
    url = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if not url:
        sys.exit("set GATEWAY_TEST_POSTGRES_URL (a PostgreSQL database this benchmark may fill)")
    await upgrade_async(url)
    env = {**os.environ, "GATEWAY_DATABASE_URL": url, "GATEWAY_ADMIN_API_KEY": KEY,
           "GATEWAY_REDIS_URL": os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")}
    gw_port, bare_port = free_port(), free_port()
    gateway = start("gateway.app:create_app", gw_port, env)
    bare = start("tests.perf._bare_app:app", bare_port, env)
    try:
        base = f"http://127.0.0.1:{gw_port}"
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as c:
            ids = [(await c.post(f"{base}/v1/customers", json=body(i))).json()["id"] for i in range(200)]
        post = await drive(lambda c, n: c.post(f"{base}/v1/customers", json=body(n)))
        get = await drive(lambda c, n: c.get(f"{base}/v1/customers/{ids[n % len(ids)]}"))
        bare_get = await drive(lambda c, n: c.get(f"http://127.0.0.1:{bare_port}/bare/{ids[n % len(ids)]}"))
    finally:
        for proc in (gateway, bare):
            proc.terminate()
            proc.wait(10)
    print(f"measured: {SECONDS:.0f} s per figure, {CONCURRENCY} concurrent keep-alive httpx clients in one "
          f"process on 127.0.0.1, one uvicorn process per server, PostgreSQL {url.split('@')[-1]}")
    for name, figures in (("gateway POST /v1/customers", post), ("gateway GET /v1/customers/{id}", get),
                          ("bare Litestar PK select", bare_get)):
        print(f"{name:34s} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
              f"p99 {figures['p99_ms']:6.1f} ms  ({figures['requests']:.0f} requests, "
              f"{figures['errors']:.0f} errors)")
    print(f"GET ratio gateway/bare: {get['rps'] / bare_get['rps']:.2f} (target >= 0.6); "
          f"targets: GET >= 1500/s, POST >= 500/s")


if __name__ == "__main__":
    asyncio.run(main())
