"""Dismissing a dead or blocked task: ops gives up on it, with a reason that is kept.

A dismissed task (status ``dismissed``) never runs, leaves the problem lists and counts, and
is not pruned (the reason stays with it in ``task_dismissals``). What waits on it could
never run either, so the tasks that wait on it, directly or through others, are dismissed
with it (``with_task`` names the task the operator dismissed). A later write of the same
record queues a fresh task, as after any finished one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import TaskStatus
from gateway.core.errors import ConflictError, InvalidError, NotFoundError
from gateway.store.ops_tables import TaskDismissalRow
from gateway.store.tables import OutboxTaskRow, TaskDependencyRow

DISMISSABLE = (TaskStatus.DEAD, TaskStatus.BLOCKED)
WAITING = (TaskStatus.PENDING.value, TaskStatus.BLOCKED.value)
REASON_MAX = 2000


@dataclass(frozen=True, slots=True)
class Dismissal:
    task: OutboxTaskRow
    row: TaskDismissalRow
    with_it: list[str]
    """The waiting tasks dismissed together with it."""


async def dismiss_task(session: AsyncSession, task_id: str, *, reason: str, actor: str,
                       now: datetime) -> Dismissal:
    """Dismiss a dead or blocked task and what waits on it (404 unknown, 409 neither dead
    nor blocked, 400 without a reason); the caller commits."""
    reason = reason.strip()
    if not reason:
        raise InvalidError("say why the task is dismissed", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidError(f"the reason is longer than {REASON_MAX} characters", field="reason")
    task = await session.get(OutboxTaskRow, task_id, with_for_update=True)
    if task is None:
        raise NotFoundError(f"task {task_id} not found")
    if task.status not in DISMISSABLE:
        raise ConflictError(f"only dead or blocked tasks can be dismissed; this one is {task.status}")
    row = _dismiss(session, task, reason=reason, actor=actor, now=now, with_task=None)
    with_it: list[str] = []
    frontier = [task.id]
    seen = {task.id}
    while frontier:
        waiting = list(await session.exec(
            select(OutboxTaskRow)
            .join(TaskDependencyRow, col(TaskDependencyRow.task_id) == col(OutboxTaskRow.id))
            .where(col(TaskDependencyRow.depends_on).in_(frontier),
                   col(OutboxTaskRow.status).in_(WAITING))
            .order_by(col(OutboxTaskRow.created_at), col(OutboxTaskRow.id))))
        frontier = []
        for dependent in waiting:
            if dependent.id in seen:
                continue
            seen.add(dependent.id)
            _dismiss(session, dependent, reason=reason, actor=actor, now=now, with_task=task.id)
            with_it.append(dependent.id)
            frontier.append(dependent.id)
    if row.previous_status == TaskStatus.DEAD:
        # tasks blocked on it through a dependency already settled away still name it
        for blocked in await session.exec(select(OutboxTaskRow).where(
                col(OutboxTaskRow.blocked_by) == task.id,
                col(OutboxTaskRow.status) == TaskStatus.BLOCKED.value)):
            if blocked.id not in seen:
                seen.add(blocked.id)
                _dismiss(session, blocked, reason=reason, actor=actor, now=now, with_task=task.id)
                with_it.append(blocked.id)
    await session.flush()
    return Dismissal(task=task, row=row, with_it=with_it)


def _dismiss(session: AsyncSession, task: OutboxTaskRow, *, reason: str, actor: str, now: datetime,
             with_task: str | None) -> TaskDismissalRow:
    row = TaskDismissalRow(task_id=task.id, previous_status=task.status, reason=reason, actor=actor[:200],
                           dismissed_at=now, with_task=with_task)
    task.status, task.lease_until, task.updated_at = TaskStatus.DISMISSED.value, None, now
    session.add(task)
    session.add(row)
    return row
