"""Retention: the call history and finished outbox tasks are kept for a while, not for ever."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.store.tables import OutboxTaskRow, UpstreamCallRow

FINISHED = ("done", "cancelled", "superseded")


async def prune(session: AsyncSession, *, now: datetime, keep_s: float) -> tuple[int, int]:
    """Delete upstream calls and finished tasks older than ``keep_s``; commits.

    Returns (calls deleted, tasks deleted). Pending, running and dead tasks are
    never deleted: they are work, or evidence an operator still needs.
    """
    cutoff = now - timedelta(seconds=keep_s)
    calls = await session.execute(delete(UpstreamCallRow).where(UpstreamCallRow.at < cutoff))  # type: ignore[arg-type]
    tasks = await session.execute(
        delete(OutboxTaskRow).where(
            OutboxTaskRow.status.in_(FINISHED),  # type: ignore[attr-defined]
            OutboxTaskRow.updated_at < cutoff,  # type: ignore[arg-type]
        )
    )
    await session.commit()
    return calls.rowcount, tasks.rowcount  # type: ignore[attr-defined]
