"""Blocked tasks: a task waiting (directly or through its parents) on a dead task.

A task never waits on a task that can no longer finish: while a task it depends on is dead it
is ``blocked``, with the dead task's id and a reason on the task and on the provider link it
keeps in step (if any); it is pending again as soon as that task is retried, superseded or
cancelled (:func:`settle`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider, SyncStatus, TaskAction, TaskStatus
from gateway.outbox.outcomes import OutcomeType, about_entity, emit
from gateway.store.db import chunked
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, TaskDependencyRow

WAITING = (TaskStatus.PENDING, TaskStatus.BLOCKED)
"""Not claimed yet: pending (ready or waiting on open parents) or blocked (a parent is dead)."""
PROVIDERS = frozenset(p.value for p in Provider)


def keeps_link(task: OutboxTaskRow, link: ProviderLinkRow | None) -> bool:
    """Whether ``link`` (the link of the task's ``entity_id`` at its queue's provider) is the one
    the task keeps in step: a record's sync task has a link of its own type; work of other
    kinds about the same record (an enrollment, a report) has none."""
    return link is not None and link.entity_type == task.entity_type



def blocked_by(parent: OutboxTaskRow) -> tuple[str | None, str | None] | None:
    """A new task waiting on ``parent`` is blocked at once when ``parent`` can no longer finish:
    (the dead task it waits on, the reason), else None."""
    if parent.status == TaskStatus.DEAD:
        return parent.id, dead_reason(parent)
    if parent.status == TaskStatus.BLOCKED:
        return parent.blocked_by, parent.last_error
    return None


def dead_reason(dead: OutboxTaskRow) -> str:
    """Why a task waiting (directly or through its parents) on the dead task ``dead`` is blocked."""
    return (f"waits on task {dead.id} ({dead.action} of {dead.entity_type} {dead.entity_id} at "
            f"{dead.provider}), which is dead: {dead.last_error or 'no reason recorded'}")[:2000]


async def _mark(session: AsyncSession, task: OutboxTaskRow, root: str | None, reason: str | None,
                now: datetime) -> None:
    """Block ``task`` on the dead task ``root`` (or unblock it with ``root=None``), link included."""
    task.status = (TaskStatus.BLOCKED if root else TaskStatus.PENDING).value
    task.blocked_by, task.last_error, task.updated_at = root, reason, now
    if task.provider not in PROVIDERS:
        return
    link = await session.get(ProviderLinkRow, (task.entity_id, task.provider))
    if link is None or not keeps_link(task, link) or link.status in (
            SyncStatus.DELETED.value, SyncStatus.SYNCED.value):
        return
    if root:
        newly = link.status != SyncStatus.BLOCKED.value
        link.status = SyncStatus.BLOCKED.value
        if newly:
            await emit(session, [about_entity(
                OutcomeType.RECORD_BLOCKED, entity_type=task.entity_type, entity_id=task.entity_id,
                customer_id=task.customer_id, provider=task.provider, action=task.action, taskId=task.id,
                blockedBy=root, reason=reason)], now=now)
    elif link.status == SyncStatus.BLOCKED.value:
        link.status = (SyncStatus.DELETING if task.action == TaskAction.DELETE.value
                       else SyncStatus.PENDING).value
    link.blocked_by, link.blocked_reason, link.updated_at = root, reason, now


async def dependents(session: AsyncSession, parent_ids: Sequence[str]) -> set[str]:
    """The tasks that wait on any of ``parent_ids``."""
    found: set[str] = set()
    for part in chunked(parent_ids):
        rows = await session.exec(select(TaskDependencyRow.task_id).where(
            col(TaskDependencyRow.depends_on).in_(part)))
        found.update(rows)
    return found


async def release(session: AsyncSession, parent: OutboxTaskRow) -> set[str]:
    """Drop the dependencies on ``parent``; return the tasks that had them."""
    freed = await dependents(session, [parent.id])
    await session.exec(delete(TaskDependencyRow).where(col(TaskDependencyRow.depends_on) == parent.id))
    return freed


async def settle_dependents(session: AsyncSession, parent_ids: Sequence[str], *, now: datetime) -> None:
    """After these tasks changed state (died, say), settle the tasks that wait on them."""
    await settle(session, await dependents(session, list(parent_ids)), now=now)


async def settle(session: AsyncSession, task_ids: Iterable[str], *, now: datetime) -> None:
    """Block or unblock the given waiting tasks after their parents changed, and their own
    dependents in turn.

    A waiting delete whose parent is a dead upsert of the same record at the same provider
    supersedes that upsert instead of being blocked by it.
    """
    await session.flush()
    frontier = set(task_ids)
    while frontier:
        changed: list[str] = []
        freed: set[str] = set()
        for task_id in sorted(frontier):
            task = await session.get(OutboxTaskRow, task_id)
            if task is None or task.status not in WAITING:
                continue
            parents = list(await session.exec(
                select(OutboxTaskRow).join(
                    TaskDependencyRow, col(TaskDependencyRow.depends_on) == col(OutboxTaskRow.id))
                .where(col(TaskDependencyRow.task_id) == task.id,
                       col(OutboxTaskRow.status).in_((TaskStatus.DEAD, TaskStatus.BLOCKED)))
                .order_by(col(OutboxTaskRow.created_at))
            ))
            root: str | None = None
            reason: str | None = None
            for parent in parents:
                if (parent.status == TaskStatus.DEAD and task.action == TaskAction.DELETE.value
                        and parent.action == TaskAction.UPSERT.value
                        and (parent.entity_id, parent.provider) == (task.entity_id, task.provider)):
                    parent.status, parent.updated_at = TaskStatus.SUPERSEDED.value, now
                    freed |= await release(session, parent)
                    continue
                if root is None:
                    if parent.status == TaskStatus.DEAD:
                        root, reason = parent.id, dead_reason(parent)
                    else:
                        root, reason = parent.blocked_by, parent.last_error
            if root != task.blocked_by or (root is None and task.status == TaskStatus.BLOCKED):
                await _mark(session, task, root, reason, now)
                changed.append(task.id)
        await session.flush()
        frontier = await dependents(session, changed) | freed


async def settle_stranded(session: AsyncSession, *, now: datetime) -> list[str]:
    """Settle pending tasks that wait on a dead or blocked task; return their queues.

    A write that read a parent as running may commit its dependency just after the worker
    that dead-lettered the parent settled the parent's dependents; the relay calls this to
    catch such a task.
    """
    parent = aliased(OutboxTaskRow)
    rows = (await session.exec(
        select(OutboxTaskRow.id, OutboxTaskRow.provider)
        .join(TaskDependencyRow, col(TaskDependencyRow.task_id) == col(OutboxTaskRow.id))
        .join(parent, col(parent.id) == col(TaskDependencyRow.depends_on))
        .where(col(OutboxTaskRow.status) == TaskStatus.PENDING.value,
               col(parent.status).in_((TaskStatus.DEAD, TaskStatus.BLOCKED)))
        .distinct()
    )).all()
    await settle(session, [task_id for task_id, _ in rows], now=now)
    return sorted({provider for _, provider in rows})
