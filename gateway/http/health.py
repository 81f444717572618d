"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from gateway.http.problems import problem_response
from gateway.runtime.process import Runtime
from gateway.store.db import UNAVAILABLE_RETRY_AFTER_S, availability, unavailable_reason

CHECK_TIMEOUT_S = 3.0
"""How long readiness waits for the database (and Redis) before calling it failed: a host that
drops packets would otherwise hold the probe for the driver's connect timeout."""


@get("/health/live", tags=["health"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", tags=["health"], summary="The database (and Redis, when configured) answer")
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    """200 when every check passes; else 503 ``not-ready`` naming what failed, with Retry-After.

    While the database is away this probe keeps trying it, so a new connection after the
    outage is what marks the database available again even when no request comes in.
    """
    runtime = Runtime.of(request)
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(_select_one(runtime), timeout=CHECK_TIMEOUT_S)
        checks["database"] = "ok"
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is not None:
            availability(runtime.engine).failed(reason)
        checks["database"] = f"failed: {type(exc).__name__}"
    redis_check = getattr(runtime.dispatcher, "ping", None)
    if redis_check is not None:
        try:
            await asyncio.wait_for(redis_check(), timeout=CHECK_TIMEOUT_S)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failed: {type(exc).__name__}"
    if all(value == "ok" for value in checks.values()):
        return Response({"status": "ok", "checks": checks})
    failed = ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
    return problem_response(503, "Not ready", failed, slug="not-ready",
                            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)})


async def _select_one(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await (await session.connection()).execute(text("SELECT 1"))
