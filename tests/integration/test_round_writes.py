"""A round's array statements on PostgreSQL, and the claim's order on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.customers.sync.links import update_links
from gateway.outbox.claim import claim
from gateway.outbox.round_writes import finish_done, insert_history, keep_sent_keys
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, TaskDependencyRow, UpstreamCallRow
from tests.conftest import _truncate

NOW = utcnow()


def _task(task_id: str, *, status: str = "running", attempts: int = 1, provider: str = "volue",
          created_s: float = 0.0) -> OutboxTaskRow:
    at = NOW + timedelta(seconds=created_s)
    return OutboxTaskRow(id=task_id, provider=provider, entity_type="customer", entity_id=f"e-{task_id}",
                         customer_id=f"c-{task_id}", action="upsert", status=status, attempts=attempts,
                         run_after=NOW - timedelta(seconds=1), created_at=at, updated_at=at)


def _link(entity_id: str, status: str = "pending") -> ProviderLinkRow:
    return ProviderLinkRow(entity_id=entity_id, provider="volue", entity_type="customer", status=status,
                           external_id="old", attempts=0, updated_at=NOW)


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[AsyncSession]:
    await _truncate(postgres_url)
    engine = create_engine(postgres_url)
    async with session_factory(engine)() as session:
        yield session
    await engine.dispose()


async def _add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.commit()


@pytest.mark.postgres
async def test_finish_done_closes_only_tasks_still_held_and_clears_their_dependencies(
        pg: AsyncSession) -> None:
    """Done: running tasks at the claimed attempt only; dependencies on them go, others stay;
    the queues of the tasks that waited for them are named."""
    await _add(pg, _task("a"), _task("b", attempts=2), _task("c", status="pending"),
               _task("child", provider="readings"), _task("other"))
    await _add(pg, TaskDependencyRow(task_id="child", depends_on="a"),
               TaskDependencyRow(task_id="child", depends_on="other"))
    closed = await finish_done(pg, ["a", "b", "c"], [1, 1, 1], NOW)
    await pg.commit()
    assert closed.ids == ["a"] and closed.dependent_queues == {"readings"}
    statuses = dict((await pg.execute(select(OutboxTaskRow.id, OutboxTaskRow.status))).all())
    assert statuses == {"a": "done", "b": "running", "c": "pending", "child": "running", "other": "running"}
    left = (await pg.execute(select(TaskDependencyRow.depends_on))).scalars().all()
    assert left == ["other"]


@pytest.mark.postgres
async def test_update_links_applies_each_kind_of_change_and_a_later_change_wins(pg: AsyncSession) -> None:
    """Upserted (kept deleting), deleted, failed, retrying; a link named twice ends as the second says."""
    await _add(pg, _link("up"), _link("keep", status="deleting"), _link("del"), _link("fail"),
               _link("retry"), _link("twice"))

    def change(entity: str, kind: str, **more: Any) -> dict[str, Any]:
        return {"entity": entity, "provider": "volue", "change": kind, "status": None, "external": None,
                "attempts": 3, "error": None, **more}

    await update_links(pg, [
        change("up", "upserted", external="x-up"), change("keep", "upserted", external="x-keep"),
        change("del", "deleted"), change("fail", "failed", status="failed", error="refused"),
        change("retry", "retrying", error="timeout"),
        change("twice", "retrying", error="first"), change("twice", "upserted", external="x-twice"),
    ], NOW)
    await pg.commit()
    rows = {r.entity_id: r for r in (await pg.execute(select(ProviderLinkRow))).scalars()}
    assert (rows["up"].status, rows["up"].external_id, rows["up"].synced_at) == ("synced", "x-up", NOW)
    assert (rows["keep"].status, rows["keep"].external_id) == ("deleting", "x-keep")
    assert (rows["del"].status, rows["del"].external_id) == ("deleted", "old")
    fail = rows["fail"]
    assert (fail.status, fail.last_error, fail.synced_at) == ("failed", "refused", None)
    assert (rows["retry"].status, rows["retry"].last_error) == ("pending", "timeout")
    twice = rows["twice"]
    assert (twice.status, twice.external_id, twice.last_error) == ("synced", "x-twice", None)
    assert {r.attempts for r in rows.values()} == {3}


@pytest.mark.postgres
async def test_history_and_sent_keys_are_written_in_one_statement_each(pg: AsyncSession) -> None:
    """Every call row lands with the round's time; each task gets its own sent keys."""
    await _add(pg, _task("a"), _task("b"))
    calls = [{"entity_id": "e-a", "entity_type": "customer", "customer_id": "c-a", "provider": "volue",
              "task_id": "a", "method": "POST", "route": f"/users/{n}", "status": status,
              "latency_ms": 1.5, "error": error} for n, (status, error) in enumerate([(200, None),
                                                                                    (None, "reset")])]
    await insert_history(pg, calls, NOW)
    await keep_sent_keys(pg, ["a", "b"], ['["ka"]', '["kb"]'])
    await pg.commit()
    rows = (await pg.execute(select(UpstreamCallRow).order_by(UpstreamCallRow.id))).scalars().all()
    assert [(r.route, r.status, r.error, r.at) for r in rows] == [("/users/0", 200, None, NOW),
                                                                 ("/users/1", None, "reset", NOW)]
    keys = dict((await pg.execute(select(OutboxTaskRow.id, OutboxTaskRow.sent_keys))).all())
    assert keys == {"a": '["ka"]', "b": '["kb"]'}


async def test_claim_takes_ready_tasks_oldest_first_and_skips_waiting_ones(database_url: str) -> None:
    """Oldest first among the provider's pending tasks; one waiting on an open task stays."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await _add(session, *(_task(f"t{n}", status="pending", attempts=0, created_s=-n)
                                  for n in range(6)),
                       _task("zf", status="pending", attempts=0, provider="zaehlerfreunde", created_s=-9),
                       _task("done", status="done", created_s=-8))
            await _add(session, TaskDependencyRow(task_id="t5", depends_on="t0"),
                       TaskDependencyRow(task_id="t4", depends_on="done"))
        async with sessions() as session:
            first = await claim(session, provider="volue", now=utcnow(), lease_s=30, limit=3,
                                sqlite_lock=asyncio.Lock())
            rest = await claim(session, provider="volue", now=utcnow(), lease_s=30, limit=10,
                               sqlite_lock=asyncio.Lock())
            pending = (await session.execute(
                text("SELECT id FROM outbox_tasks WHERE status = 'pending'"))).all()
        assert [t.id for t in first] == ["t4", "t3", "t2"]
        assert [t.id for t in rest] == ["t1", "t0"]
        assert all(t.status == "running" and t.attempts == 1 for t in first + rest)
        assert sorted(r.id for r in pending) == ["t5", "zf"]
    finally:
        await engine.dispose()
