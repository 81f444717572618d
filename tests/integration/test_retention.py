"""Old call history and finished tasks are pruned; open and dead work is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from gateway.records import utcnow
from gateway.settings import Settings
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, UpstreamCallRow
from gateway.sync.retention import prune


def _task(task_id: str, status: str, age_s: float) -> OutboxTaskRow:
    at = utcnow() - timedelta(seconds=age_s)
    return OutboxTaskRow(id=task_id, provider="volue", entity_type="customer", entity_id="e",
                         customer_id="c", action="upsert", status=status, attempts=1, run_after=at,
                         created_at=at, updated_at=at)


def _call(age_s: float) -> UpstreamCallRow:
    return UpstreamCallRow(entity_id="e", entity_type="customer", customer_id="c", provider="volue",
                           task_id="t", method="POST", route="/users", status=201, latency_ms=3.0,
                           at=utcnow() - timedelta(seconds=age_s))


async def test_prune_keeps_recent_and_unfinished(settings: Settings) -> None:
    """Only calls and done/cancelled/superseded tasks older than the retention go."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    week = 7 * 86_400
    async with sessions() as session:
        session.add_all([_call(week + 60), _call(60)])
        for i, (status, age) in enumerate([("done", week + 60), ("done", 60), ("cancelled", week + 60),
                                           ("superseded", week + 60), ("dead", week + 60),
                                           ("pending", week + 60)]):
            session.add(_task(f"t{i}", status, age))
        await session.commit()
        calls, tasks = await prune(session, now=utcnow(), keep_s=week)
        assert (calls, tasks) == (1, 3)
        left = {t.status for (t,) in await session.exec(select(OutboxTaskRow))}  # type: ignore[call-overload]
        assert left == {"done", "dead", "pending"}
        count = (await session.exec(select(func.count()).select_from(UpstreamCallRow))).one()  # type: ignore[call-overload]
        assert count[0] == 1
    await engine.dispose()
