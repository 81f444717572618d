"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from gateway.http.problems import problem_response


@get("/health/live", tags=["health"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", tags=["health"], summary="The database (and Redis, when configured) answer")
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        async with state.sessions() as session:
            await session.exec(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    redis_check = getattr(state.dispatcher, "ping", None)
    if redis_check is not None:
        try:
            await redis_check()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failed: {type(exc).__name__}"
    if all(value == "ok" for value in checks.values()):
        return Response({"status": "ok", "checks": checks})
    failed = ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
    return problem_response(503, "Not ready", failed, slug="not-ready")
