"""API throughput on PostgreSQL: GET /v1/customers/{id} and POST /v1/customers, one API process.

Run: ``GATEWAY_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test
.venv/bin/python -m tests.perf.api`` (``PERF_SECONDS``, ``PERF_CONCURRENCY``).

Starts the gateway (API path only: Redis configured, so no in-process worker and
no emulators) and, as the baseline, a bare Litestar handler doing one
primary-key select, each as one uvicorn process on 127.0.0.1. Load comes from
``wrk`` when it is installed (C, light on a shared machine; POST bodies made
unique by a Lua script) and otherwise from httpx clients in this process. Prints
requests/s, p50 and p99 latency, the server processes' CPU time per request, and
the GET ratio gateway/bare. Targets: >= 1,500 GET/s and >= 500 POST/s per process,
GET ratio >= 0.6.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from gateway.store.migrate import upgrade_async
from tests.perf._stack import KEY, UNLIMITED, free_port, start

SECONDS = float(os.environ.get("PERF_SECONDS", "8"))
CONCURRENCY = int(os.environ.get("PERF_CONCURRENCY", "32"))
WRK = shutil.which("wrk")

POST_SCRIPT = """
wrk.headers["Content-Type"] = "application/json"
counter = 0
prefix = tostring(os.time()) .. "-" .. tostring(math.random(1000000))
request = function()
  counter = counter + 1
  local body = '{"externalRef":"perf-' .. prefix .. '-' .. counter ..
    '","name":"Perf Customer","email":"perf@example.com","providers":["volue"]}'
  return wrk.format("POST", "/v1/customers", nil, body)
end
"""

Figures = dict[str, float]
Requester = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, *, script: str | None = None, auth: bool = True) -> Figures:
    cmd = [WRK or "wrk", "-t1", f"-c{CONCURRENCY}", f"-d{SECONDS:.0f}s", "--latency"]
    if auth:
        cmd += ["-H", f"Authorization: Bearer {KEY}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script or "")
    if script:
        cmd += ["-s", lua.name]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        "requests": requests, "errors": int(bad.group(1)) if bad else 0,
    }


async def run_httpx(make_request: Requester) -> Figures:
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
            errors += response.status_code >= 400

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


async def measure(proc: subprocess.Popen[bytes], run: Callable[[], Awaitable[Figures]]) -> Figures:
    """Run one load and add the server's CPU milliseconds per request."""
    before = cpu_seconds(proc.pid)
    figures = await run()
    figures["cpu_ms"] = (cpu_seconds(proc.pid) - before) * 1000 / max(1.0, figures["requests"])
    return figures


async def main() -> None:
    url = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if not url:
        sys.exit("set GATEWAY_TEST_POSTGRES_URL (a PostgreSQL database this benchmark may fill)")
    await upgrade_async(url)
    env = {**os.environ, "GATEWAY_DATABASE_URL": url, "GATEWAY_ADMIN_API_KEY": KEY,
           "GATEWAY_LOG_LEVEL": "WARNING", **UNLIMITED,
           "GATEWAY_REDIS_URL": os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")}
    gw_port, bare_port = free_port(), free_port()
    gateway = start("gateway.app:create_app", gw_port, env)
    bare = start("tests.perf._bare_app:app", bare_port, env)
    base, bare_base = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{bare_port}"
    try:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as c:
            ids = [(await c.post(f"{base}/v1/customers", json=body(i))).json()["id"] for i in range(50)]
        one = ids[0]
        if WRK:
            async def post() -> Figures:
                return await asyncio.to_thread(run_wrk, f"{base}/v1/customers", script=POST_SCRIPT)

            async def get() -> Figures:
                return await asyncio.to_thread(run_wrk, f"{base}/v1/customers/{one}")

            async def bare_get() -> Figures:
                return await asyncio.to_thread(run_wrk, f"{bare_base}/bare/{one}", auth=False)
        else:
            async def post() -> Figures:
                return await run_httpx(lambda c, n: c.post(f"{base}/v1/customers", json=body(n)))

            async def get() -> Figures:
                return await run_httpx(lambda c, n: c.get(f"{base}/v1/customers/{ids[n % len(ids)]}"))

            async def bare_get() -> Figures:
                return await run_httpx(lambda c, n: c.get(f"{bare_base}/bare/{ids[n % len(ids)]}"))

        results = [("gateway POST /v1/customers", await measure(gateway, post)),
                   ("gateway GET /v1/customers/{id}", await measure(gateway, get)),
                   ("bare Litestar PK select", await measure(bare, bare_get))]
    finally:
        for proc in (gateway, bare):
            proc.terminate()
            proc.wait(10)
    driver = "wrk (1 thread)" if WRK else "httpx clients in the benchmark process"
    print(f"measured: {SECONDS:.0f} s per figure, {CONCURRENCY} keep-alive connections from {driver}, "
          f"one uvicorn process per server, PostgreSQL {url.split('@')[-1]}, {os.cpu_count()} cores "
          f"shared by load generator, servers and PostgreSQL")
    for name, f in results:
        print(f"{name:32s} {f['rps']:7.0f} req/s  p50 {f['p50_ms']:6.1f} ms  p99 {f['p99_ms']:6.1f} ms  "
              f"server CPU {f['cpu_ms']:.2f} ms/request  ({f['requests']:.0f} requests, "
              f"{f['errors']:.0f} errors)")
    get_f, bare_f = results[1][1], results[2][1]
    print(f"GET ratio gateway/bare: {get_f['rps'] / bare_f['rps']:.2f} (target >= 0.6); "
          f"targets: GET >= 1500/s, POST >= 500/s per process")


if __name__ == "__main__":
    asyncio.run(main())
