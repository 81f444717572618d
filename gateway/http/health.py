"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from gateway.http.problems import problem_response
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
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(_select_one(state), timeout=CHECK_TIMEOUT_S)
        checks["database"] = "ok"
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is not None and state.get("engine") is not None:
            availability(state.engine).failed(reason)
        checks["database"] = f"failed: {type(exc).__name__}"
    redis_check = getattr(state.dispatcher, "ping", None)
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


async def _select_one(state: Any) -> None:
    async with state.sessions() as session:
        await session.exec(text("SELECT 1"))
