"""The control surface of an emulator under ``/_emulator``: never faulted, never counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Router, get, post, put
from litestar.exceptions import ValidationException

from providers.emulation.emulation import CONTROL_PREFIX, AnswerMode, Emulation
from providers.emulation.faults import FaultPlan


def control_router(emulation: Emulation, entity_counts: Callable[[], dict[str, int]]) -> Router:
    """The ``/_emulator`` router: faults, answer mode, stats, token revocation, stats reset."""

    @get("/faults", sync_to_thread=False)
    def read_faults() -> FaultPlan:
        return emulation.faults

    @put("/faults", sync_to_thread=False)
    def write_faults(data: FaultPlan) -> FaultPlan:
        problems = data.problems()
        if problems:
            raise ValidationException(detail="; ".join(problems))
        emulation.set_faults(data)
        return data

    @get("/answers", sync_to_thread=False)
    def read_answers() -> AnswerMode:
        return emulation.answers

    @put("/answers", sync_to_thread=False)
    def write_answers(data: AnswerMode) -> AnswerMode:
        emulation.answers = data
        return data

    @get("/stats", sync_to_thread=False)
    def read_stats() -> dict[str, Any]:
        return emulation.stats.snapshot(entity_counts())

    @post("/revoke-tokens", status_code=204, sync_to_thread=False)
    def revoke_tokens() -> None:
        emulation.tokens.revoke_all()

    @post("/reset-stats", status_code=204, sync_to_thread=False)
    def reset_stats() -> None:
        emulation.stats.reset()

    return Router(
        path=CONTROL_PREFIX,
        route_handlers=[read_faults, write_faults, read_answers, write_answers, read_stats,
                        revoke_tokens, reset_stats],
        include_in_schema=False,
    )
