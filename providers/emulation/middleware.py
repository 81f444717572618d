"""The ASGI middleware that injects an emulator's faults and counts its answers."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from providers.emulation.emulation import CONTROL_PREFIX, Emulation
from providers.emulation.faults import (
    FaultPlan,
    drop_connection,
    send_problem,
)


def _route_key(scope: Scope) -> str:
    return f"{scope.get('method', 'GET')} {scope.get('path_template', scope['path'])}"


class _Held(enum.Enum):
    """What happens to the answer of a request the handler processes."""

    NONE = "none"
    SLOW = "slow"
    """Sent after ``slowMs``."""
    LOST = "lost"
    """Replaced by a 502."""


async def _answer_held(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    held: _Held,
    plan: FaultPlan,
    emulation: Emulation,
    route: str,
) -> None:
    """Process the request, then send its answer late (slow) or a 502 instead (lost).

    The request is counted under the status the handler produced: the emulator did the work,
    whatever the client saw. A successful one is also counted as ``unanswered``: the client
    cannot tell whether it was carried out (a lost answer, or a slow one past its timeout).
    """
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    status = next(
        (m["status"] for m in messages if m["type"] == "http.response.start"), 0
    )
    if status:
        emulation.stats.count_request(route, status)
    if 200 <= status < 300:
        emulation.stats.count_unanswered(route)
    if held is _Held.LOST:
        await send_problem(send, 502, "Injected lost answer")
        return
    await asyncio.sleep(plan.slow_ms / 1000)
    for message in messages:
        await send(message)


def fault_middleware(emulation: Emulation) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware that applies ``emulation``'s fault plan before the route handler runs.

    Every HTTP request outside ``/_emulator`` is counted per route template and
    status; a dropped connection is counted as a drop. A slow answer (``slowRate``) is
    processed and sent after ``slowMs`` (or, with ``slowProcessed`` false, answered 503
    after ``slowMs`` without being processed); a lost answer (``lostRate``) is processed
    and the client gets 502. Both are counted under the handler's own status.
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
            held = _Held.NONE
            if plan.is_active and emulation.applies_to(scope["path"], scope.get("method", "GET")):
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
                    code = rng.choice(plan.error_status_choices())
                    await send_problem(counting_send, code, "Injected upstream failure")
                    emulation.stats.count_request(route, code)
                    return
                draw -= plan.error_rate
                if draw < plan.rate_limit_rate:
                    retry = [(b"retry-after", str(plan.retry_after_s).encode())]
                    await send_problem(counting_send, 429, "Too Many Requests", retry)
                    emulation.stats.count_request(route, 429)
                    return
                draw -= plan.rate_limit_rate
                if draw < plan.slow_rate:
                    if not plan.slow_processed:
                        await asyncio.sleep(plan.slow_ms / 1000)
                        await send_problem(counting_send, 503, "Injected slow failure")
                        emulation.stats.count_request(route, 503)
                        return
                    held = _Held.SLOW
                elif draw - plan.slow_rate < plan.lost_rate:
                    held = _Held.LOST
            if held is not _Held.NONE:
                await _answer_held(app, scope, receive, send, held=held, plan=plan,
                                   emulation=emulation, route=route)
                return
            try:
                await app(scope, receive, counting_send)
            finally:
                if status:
                    emulation.stats.count_request(route, status)

        return middleware

    return factory
