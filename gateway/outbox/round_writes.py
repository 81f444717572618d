"""A round's writes on PostgreSQL: one statement per kind of write, whatever the number of tasks.

The engine writes a round's results (tasks done, call history) and entity sync, before
sending, what its creates would make (``sent_keys``). Elsewhere these are executemany
statements, one server round of parse, plan and execute per row; on PostgreSQL each is a
single statement over ``unnest`` of column arrays, every row found through its key. The
statements are built once per process; their parameters are plain lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Boolean, Float, Integer, String, TextClause, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import TaskStatus
from gateway.store.tables import UTC_DATETIME


def _sql(statement: str, arrays: Mapping[str, Any]) -> TextClause:
    """Text SQL with typed array parameters and ``now`` as a timestamp with time zone."""
    params = [bindparam(name, type_=ARRAY(item)) for name, item in arrays.items()]
    return text(statement).bindparams(*params, bindparam("now", type_=UTC_DATETIME))


_FINISH_DONE = _sql(f"""
WITH done AS (
    UPDATE outbox_tasks t
    SET status = '{TaskStatus.DONE}', lease_until = NULL, last_error = NULL, updated_at = :now
    FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[])) AS f(id, attempts)
    WHERE t.id = f.id AND t.attempts = f.attempts AND t.status = '{TaskStatus.RUNNING}'
    RETURNING t.id
), cleared AS (
    DELETE FROM task_dependencies d USING done WHERE d.depends_on = done.id RETURNING d.task_id
)
SELECT id, NULL::text AS queue FROM done
UNION ALL
SELECT NULL, q.provider FROM (
    SELECT DISTINCT t.provider FROM cleared c JOIN outbox_tasks t ON t.id = c.task_id
) q
""", {"ids": String, "attempts": Integer})
"""Close the tasks this worker still holds (fenced by their attempt count) and delete the
dependencies that pointed at them: their dependents may be claimed once this commits. Rows
with an ``id`` are the tasks closed; rows with a ``queue`` name the queues of the dependents."""


class Closed(NamedTuple):
    """What closing a round's done tasks did."""

    ids: list[str]
    """The tasks closed (still held by this worker)."""
    dependent_queues: set[str]
    """Queues of the tasks that waited for them (to wake once the round commits)."""


async def finish_done(session: AsyncSession, ids: Sequence[str], attempts: Sequence[int],
                      now: datetime) -> Closed:
    """Mark done the tasks ``ids`` still at ``attempts`` and running, and clear what waited
    for them."""
    rows = await session.execute(_FINISH_DONE, {"ids": list(ids), "attempts": list(attempts),
                                                "now": now})
    closed = Closed([], set())
    for row in rows:
        if row.id is not None:
            closed.ids.append(row.id)
        else:
            closed.dependent_queues.add(row.queue)
    return closed


_SQL_TYPES = {String: "text", Integer: "int", Float: "float8", Boolean: "boolean"}


def _unnest_insert(table: str, types: Mapping[str, Any]) -> TextClause:
    """Insert rows given as one array per column (and ``at`` = ``:now``) in one statement."""
    return _sql(
        f"INSERT INTO {table} ({', '.join(types)}, at) SELECT *, CAST(:now AS timestamptz) FROM unnest("
        + ", ".join(f"CAST(:{c} AS {_SQL_TYPES[t]}[])" for c, t in types.items()) + ")", types)


_HISTORY_COLUMNS = ("entity_id", "entity_type", "customer_id", "provider", "task_id", "method", "route",
                    "status", "latency_ms", "error", "trace_id", "body_id")
_HISTORY = _unnest_insert("upstream_calls", {**dict.fromkeys(_HISTORY_COLUMNS, String),
                                             "status": Integer, "latency_ms": Float})
"""A round's call history, one row per call, in one statement."""

_BODY_COLUMNS = ("id", "request_body", "response_body", "request_truncated", "response_truncated")
_BODIES = _unnest_insert("upstream_call_bodies", {**dict.fromkeys(_BODY_COLUMNS, String),
                                                  "request_truncated": Boolean,
                                                  "response_truncated": Boolean})
"""The bodies of a round's calls, one row per exchange, in one statement."""


async def insert_history(session: AsyncSession, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Insert call history rows (the columns of ``upstream_calls`` but ``id`` and ``at``; a
    row without ``trace_id`` or ``body_id`` has none)."""
    if rows:
        await session.execute(_HISTORY, {**{c: [row.get(c) for row in rows] for c in _HISTORY_COLUMNS},
                                         "now": now})


async def insert_bodies(session: AsyncSession, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Insert the bodies of calls (the columns of ``upstream_call_bodies`` but ``at``)."""
    if rows:
        await session.execute(_BODIES, {**{c: [row[c] for row in rows] for c in _BODY_COLUMNS},
                                        "now": now})


_SENT_KEYS = text(
    "UPDATE outbox_tasks t SET sent_keys = u.keys "
    "FROM unnest(CAST(:ids AS text[]), CAST(:keys AS text[])) AS u(id, keys) WHERE t.id = u.id"
).bindparams(bindparam("ids", type_=ARRAY(String)), bindparam("keys", type_=ARRAY(String)))
"""What each task's create would make, kept before it is sent (one statement per round)."""


async def keep_sent_keys(session: AsyncSession, ids: Sequence[str], keys: Sequence[str]) -> None:
    """Set ``sent_keys`` of the tasks ``ids`` to ``keys`` (JSON arrays)."""
    await session.execute(_SENT_KEYS, {"ids": list(ids), "keys": list(keys)})
