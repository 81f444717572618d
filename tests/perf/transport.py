"""Client CPU per request: httpx's own transport, httpx on aiohttp, and aiohttp alone.

Run: ``.venv/bin/python -m tests.perf.transport`` (``PERF_REQUESTS`` per figure, default 3,000).

A minimal keep-alive aiohttp server in a child process on 127.0.0.1 answers a
small JSON POST with a small JSON body. This process sends the same requests
through each client at 8 and at 50 concurrent requests and prints the client's
CPU per request (this process's user + system time), requests/s, the ratio to
plain aiohttp (the baseline) and whether the machine was otherwise idle. The
provider clients use the transport this chooses (``providers.transport``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from aiohttp import web

from providers.transport import UpstreamTransport
from tests.perf._stack import Idle, cpu_seconds, free_port

REQUESTS = int(os.environ.get("PERF_REQUESTS", "3000"))
BODY = {"name": "Home", "addressLineOne": "Storgata 1", "postcode": "0155", "city": "Oslo",
        "category": "HOUSEHOLD"}


def _serve(port: int) -> None:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"spaceId": "4f1c2a8e-6d7b-4a63-9a51-2c1d3e4f5a6b"}, status=201)

    app = web.Application()
    app.router.add_post("/partner/spaces", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


Sender = Callable[[], Awaitable[None]]


async def _run(send: Sender, concurrency: int) -> tuple[float, float]:
    """Seconds and client CPU seconds for REQUESTS requests at ``concurrency``."""
    for _ in range(50):
        await send()  # warm the pool
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await send()

    cpu, started = cpu_seconds(os.getpid()), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu


async def measure(url: str, concurrency: int) -> dict[str, tuple[float, float]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    figures: dict[str, tuple[float, float]] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def plain() -> None:
            async with session.post(url, json=BODY) as response:
                await response.read()

        figures["aiohttp alone (baseline)"] = await _run(plain, concurrency)
    for name, transport in (("httpx on aiohttp (UpstreamTransport)", UpstreamTransport(limits=limits)),
                            ("httpx, its own transport", None)):
        async with httpx.AsyncClient(limits=limits, transport=transport, trust_env=False) as client:

            async def via_httpx(client: httpx.AsyncClient = client) -> None:
                (await client.post(url, json=BODY)).raise_for_status()

            figures[name] = await _run(via_httpx, concurrency)
    return figures


def _wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.post(url, json=BODY)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


async def main() -> None:
    """Start the server, measure at 8 and 50 concurrent requests, print."""
    port = free_port()
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}/partner/spaces"
    try:
        _wait_up(url)
        print(f"measured: {REQUESTS:,} small JSON POSTs per figure to a keep-alive aiohttp server "
              "in another process, all on 127.0.0.1; client CPU is this process's")
        for concurrency in (8, 50):
            idle = Idle()
            server_cpu = cpu_seconds(server.pid or 0)
            idle.start()
            own = cpu_seconds(os.getpid())
            figures = await measure(url, concurrency)
            measured = cpu_seconds(os.getpid()) - own + cpu_seconds(server.pid or 0) - server_cpu
            base_cpu = figures["aiohttp alone (baseline)"][1]
            print(f"concurrency {concurrency}:")
            for name, (seconds, cpu) in figures.items():
                print(f"  {name:38s} {cpu / REQUESTS * 1000:5.2f} ms CPU/request "
                      f"({cpu / base_cpu:4.2f} x baseline), {REQUESTS / seconds:7,.0f} requests/s")
            print(f"  {idle.stop(measured)}")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    asyncio.run(main())
