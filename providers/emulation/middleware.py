"""The ASGI middleware that injects an emulator's faults and counts its answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from providers.emulation.emulation import CONTROL_PREFIX, Emulation
from providers.emulation.faults import ERROR_STATUSES, drop_connection, send_problem


def _route_key(scope: Scope) -> str:
    return f"{scope.get('method', 'GET')} {scope.get('path_template', scope['path'])}"


def fault_middleware(emulation: Emulation) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware that applies ``emulation``'s fault plan before the route handler runs.

    Every HTTP request outside ``/_emulator`` is counted per route template and
    status; a dropped connection is counted as a drop.
    """

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope["path"].startswith(CONTROL_PREFIX):
                await app(scope, receive, send)
                return
            route = _route_key(scope)
            status = 0

            async def counting_send(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            plan = emulation.faults
            if plan.is_active and emulation.applies_to(scope["path"]):
                rng = emulation.rng
                if plan.latency_ms_max:
                    delay = rng.randint(plan.latency_ms_min, plan.latency_ms_max)
                    await asyncio.sleep(delay / 1000)
                draw = rng.random()
                if draw < plan.drop_rate:
                    emulation.stats.count_drop(route)
                    await drop_connection(send)
                draw -= plan.drop_rate
                if draw < plan.error_rate:
                    code = rng.choice(ERROR_STATUSES)
                    await send_problem(counting_send, code, "Injected upstream failure")
                    emulation.stats.count_request(route, code)
                    return
                draw -= plan.error_rate
                if draw < plan.rate_limit_rate:
                    retry = [(b"retry-after", str(plan.retry_after_s).encode())]
                    await send_problem(counting_send, 429, "Too Many Requests", retry)
                    emulation.stats.count_request(route, 429)
                    return
            try:
                await app(scope, receive, counting_send)
            finally:
                if status:
                    emulation.stats.count_request(route, status)

        return middleware

    return factory
