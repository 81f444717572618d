"""The sync history's rows and bodies as a round writes them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from gateway.core.clock import utcnow
from gateway.core.settings import Settings
from gateway.outbox.provider_calls import HISTORY_PER_TASK, CallHistory
from gateway.outbox.retention import prune
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, UpstreamCallBodyRow, UpstreamCallRow
from providers.base import CallRecord


def _task(task_id: str, entity_id: str) -> OutboxTaskRow:
    now = utcnow()
    return OutboxTaskRow(id=task_id, provider="volue", entity_type="customer", entity_id=entity_id,
                         customer_id=entity_id, action="upsert", status="running", attempts=1,
                         run_after=now, created_at=now, updated_at=now)


async def test_a_batch_exchange_keeps_its_bodies_once_and_go_with_old_history(settings: Settings) -> None:
    """Two tasks of one batch request get a history row each, both pointing at one stored body
    with its truncation marks and trace id; a token exchange has none; pruning old history
    deletes the bodies too."""
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    trace_id = "ab" * 16
    token = CallRecord(method="POST", route="/connect/token", status=200, latency_ms=1.0, trace_id=trace_id)
    batch = CallRecord(method="POST", route="/users/batch", status=201, latency_ms=4.0, trace_id=trace_id,
                       request_body='[{"userId":"u1"},{"userId":"u2"}]', request_truncated=True,
                       response_body='{"created":2}')
    history = CallHistory()
    history.add(_task("t1", "u1"), [token, batch])
    history.add(_task("t2", "u2"), [batch])
    week = 7 * 86_400
    async with sessions() as session:
        await history.write(session, utcnow() - timedelta(seconds=week + 60))
        await session.commit()
        query = select(UpstreamCallRow).order_by(col(UpstreamCallRow.id))
        rows = list((await session.execute(query)).scalars())
        assert [(r.task_id, r.route) for r in rows] == [
            ("t1", "/connect/token"), ("t1", "/users/batch"), ("t2", "/users/batch")]
        assert rows[0].body_id is None and rows[1].body_id == rows[2].body_id is not None
        assert {r.trace_id for r in rows} == {trace_id}
        [body] = (await session.execute(select(UpstreamCallBodyRow))).scalars()
        assert (body.id, body.request_body, body.response_body) == (
            rows[1].body_id, batch.request_body, batch.response_body)
        assert (body.request_truncated, body.response_truncated) == (True, False)
    async with sessions() as session:
        calls, _ = await prune(session, now=utcnow(), keep_s=week)
        assert calls == 3
        assert list((await session.execute(select(UpstreamCallBodyRow))).scalars()) == []
    await engine.dispose()


def test_a_task_keeps_only_its_last_calls() -> None:
    """An attempt with more calls than the history keeps per task records its last ones."""
    calls = [CallRecord(method="GET", route=f"/page/{n}", status=200, latency_ms=1.0)
             for n in range(HISTORY_PER_TASK + 5)]
    history = CallHistory()
    history.add(_task("t1", "u1"), calls)
    assert [row["route"] for row in history.rows] == [c.route for c in calls[-HISTORY_PER_TASK:]]
    assert history.bodies == []
