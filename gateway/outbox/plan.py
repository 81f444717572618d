"""Outbox planning: which upstream work a write creates, inside the write's own transaction.

The planner knows tasks, their dependencies and the provider link a synced record keeps at
each provider, not which records there are: the features say what to queue, where, and after
which other task (entity sync says which providers take a record and which parent it waits for).

Rules:

* A task waits for the open task it is queued after at the same provider (a record's upstream
  parent's, say), recorded as a ``task_dependencies`` row that the worker clears when the
  parent is done.
* A delete waits for the deletes of the record's children (child first).
* An upsert is not queued twice: while one is still pending the worker will
  read the newest state anyway (the write locks that task until it commits, so no
  worker claims it in between, see ``_still_waiting``).
* A delete supersedes the record's unfinished or dead upsert at the same provider: an
  untried one (pending or blocked) is cancelled, a dead one superseded, and the delete
  does not wait on it. An upsert that was tried may have reached the provider, so the
  delete waits for it, and supersedes it if it dies. Whether it was tried is read under a
  lock, so an upsert a worker claims meanwhile is waited for, never cancelled while it runs.
  A delete of a tree of records applies this to every record of the subtree, so it cancels
  their untried upserts too.
* A task never waits on a task that can no longer finish (:mod:`gateway.outbox.settle`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider, SyncStatus, TaskAction, TaskStatus
from gateway.observability.tracing import current_traceparent
from gateway.outbox.dispatch import Wakeable
from gateway.outbox.settle import PROVIDERS, WAITING, blocked_by, dependents, keeps_link, release, settle
from gateway.store.db import chunked, on_postgres
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, TaskDependencyRow, table_of

OPEN_STATUSES = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.DEAD, TaskStatus.BLOCKED)

__all__ = ["OPEN_STATUSES", "WAITING", "OutboxPlanner", "blocked_by"]



class OutboxPlanner:
    """Writes links and outbox tasks for one transaction and remembers what it wrote."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self.now = now
        self._open: dict[tuple[str, str], OutboxTaskRow] = {}
        self._links: dict[tuple[str, str], ProviderLinkRow] = {}
        self.created: list[OutboxTaskRow] = []
        self.wake_too: list[Wakeable] = []
        self._fresh: set[str] = set()

    def wake(self, tasks: Iterable[Wakeable]) -> None:
        """Tasks written outside this planner (bulk inserts) whose workers are woken after commit."""
        self.wake_too.extend(tasks)

    def mark_new(self, entity_id: str) -> None:
        """The entity was created in this transaction: it has no links or tasks to look up."""
        self._fresh.add(entity_id)

    async def _open_task(self, entity_id: str, provider: Provider) -> OutboxTaskRow | None:
        key = (entity_id, provider.value)
        if key in self._open or entity_id in self._fresh:
            return self._open.get(key)
        rows = list(await self._session.exec(
            select(OutboxTaskRow)
            .where(
                col(OutboxTaskRow.entity_id) == entity_id,
                col(OutboxTaskRow.provider) == provider.value,
                col(OutboxTaskRow.status).in_(OPEN_STATUSES),
            )
            .order_by(col(OutboxTaskRow.created_at))
        ))
        task = (await self._chain_ends(rows)).get(entity_id)
        if task is not None:
            self._open[key] = task
        return task

    async def _chain_ends(self, rows: Sequence[OutboxTaskRow]) -> dict[str, OutboxTaskRow]:
        """Per entity, the last of its open tasks (``rows``, oldest first): the one no other of
        them waits on. Not simply the newest ``created_at``: that is when a write's transaction
        began, and a write that waited for the tree's lock queues its task after tasks of
        writes that began later (a delete must follow, or cancel, the task queued last)."""
        by_entity: dict[str, list[OutboxTaskRow]] = {}
        for row in rows:
            by_entity.setdefault(row.entity_id, []).append(row)
        several = [row.id for tasks in by_entity.values() if len(tasks) > 1 for row in tasks]
        waited_on: set[str] = set()
        for part in chunked(several):
            waited_on.update(await self._session.exec(
                select(TaskDependencyRow.depends_on).where(col(TaskDependencyRow.task_id).in_(part))))
        return {entity_id: next((t for t in reversed(tasks) if t.id not in waited_on), tasks[-1])
                for entity_id, tasks in by_entity.items()}

    async def _still_waiting(self, task: OutboxTaskRow) -> bool:
        """Whether ``task`` is still waiting, read again under a lock.

        A new state relies on a waiting upsert only while no worker has claimed it: a claim
        committed after ``task`` was read but before this transaction commits would send
        what the worker read, without this change. The lock makes a claim skip the task
        until this transaction commits (the worker then reads the new state). A task another
        transaction holds locked (a claim in progress, a round recording its result) is
        skipped rather than waited for, and counts as no longer waiting: waiting here, while
        this transaction already holds provider links the round is about to write, could
        deadlock with it.
        """
        query = select(OutboxTaskRow).where(col(OutboxTaskRow.id) == task.id)
        if on_postgres(self._session):
            query = query.with_for_update(skip_locked=True)
        else:
            # SQLite has no row locks: a write takes the database's one write lock, which a
            # claim (a write too) then waits for, and the read below sees the latest state.
            table = table_of(OutboxTaskRow)
            await self._session.execute(
                update(table).where(table.c.id == task.id).values(id=table.c.id))
        locked = (await self._session.exec(query.execution_options(populate_existing=True))).first()
        return locked is not None and locked.status in WAITING

    async def _tried_upsert(self, entity_id: str, provider: Provider,
                            besides: OutboxTaskRow | None) -> OutboxTaskRow | None:
        """The entity's newest unfinished upsert at ``provider`` that was tried at least once
        (other than ``besides``): it may have reached the provider, so a delete waits for it."""
        if entity_id in self._fresh:
            return None
        query = select(OutboxTaskRow).where(
            col(OutboxTaskRow.entity_id) == entity_id,
            col(OutboxTaskRow.provider) == provider.value,
            col(OutboxTaskRow.action) == TaskAction.UPSERT.value,
            col(OutboxTaskRow.status).in_((TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.BLOCKED)),
            col(OutboxTaskRow.attempts) > 0,
        )
        if besides is not None:
            query = query.where(col(OutboxTaskRow.id) != besides.id)
        rows = list(await self._session.exec(query.order_by(col(OutboxTaskRow.created_at))))
        return (await self._chain_ends(rows)).get(entity_id)

    async def links_of(self, entity_id: str) -> list[ProviderLinkRow]:
        """The entity's provider links as this transaction leaves them (for the response).

        An entity created in this transaction has only the links the planner made, so
        no query is needed; otherwise pending changes are flushed and the links read.
        """
        if entity_id in self._fresh:
            return [link for (eid, _), link in self._links.items() if eid == entity_id]
        await self._session.flush()
        rows = await self._session.exec(
            select(ProviderLinkRow).where(col(ProviderLinkRow.entity_id) == entity_id)
        )
        return list(rows)

    async def link(self, entity_id: str, provider: Provider) -> ProviderLinkRow | None:
        key = (entity_id, provider.value)
        if key not in self._links:
            if entity_id in self._fresh:
                return None
            found = await self._session.get(ProviderLinkRow, (entity_id, provider.value))
            if found is None:
                return None
            self._links[key] = found
        return self._links[key]

    def _new_task(
        self,
        *,
        provider: Provider,
        entity_type: str,
        entity_id: str,
        customer_id: str,
        action: TaskAction,
    ) -> OutboxTaskRow:
        task = OutboxTaskRow(
            id=str(uuid.uuid4()),
            provider=provider.value,
            entity_type=str(entity_type),
            entity_id=entity_id,
            customer_id=customer_id,
            action=action.value,
            status=TaskStatus.PENDING.value,
            attempts=0,
            run_after=self.now,
            created_at=self.now,
            updated_at=self.now,
            trace_context=current_traceparent(),
        )
        self._session.add(task)
        self._open[(entity_id, provider.value)] = task
        self.created.append(task)
        return task

    def enqueue(
        self,
        *,
        queue: str,
        entity_type: str,
        entity_id: str,
        customer_id: str,
        action: str = TaskAction.UPSERT.value,
        after: Iterable[OutboxTaskRow | None] = (),
    ) -> OutboxTaskRow:
        """Queue work of a task kind (readings, invites ...) on ``queue``, after the given tasks."""
        task = OutboxTaskRow(
            id=str(uuid.uuid4()), provider=queue, entity_type=entity_type, entity_id=entity_id,
            customer_id=customer_id, action=action, status=TaskStatus.PENDING.value, attempts=0,
            run_after=self.now, created_at=self.now, updated_at=self.now,
            trace_context=current_traceparent(),
        )
        self._session.add(task)
        self.created.append(task)
        for parent in after:
            self._depend(task, parent)
        return task

    async def open_task(self, entity_id: str, provider: Provider) -> OutboxTaskRow | None:
        """The newest unfinished task of an entity at a provider (to run new work after it)."""
        return await self._open_task(entity_id, provider)

    async def open_tasks(self, entity_ids: Sequence[str], provider: Provider) -> dict[str, OutboxTaskRow]:
        """:meth:`open_task` of many entities at once (one query per :data:`IN_CHUNK` of them)."""
        found: dict[str, OutboxTaskRow] = {}
        wanted = sorted({e for e in entity_ids if e not in self._fresh})
        for part in chunked(wanted):
            rows = await self._session.exec(
                select(OutboxTaskRow)
                .where(col(OutboxTaskRow.entity_id).in_(part),
                       col(OutboxTaskRow.provider) == provider.value,
                       col(OutboxTaskRow.status).in_(OPEN_STATUSES))
                .order_by(col(OutboxTaskRow.created_at)))
            found.update(await self._chain_ends(list(rows)))
        for entity_id in entity_ids:
            cached = self._open.get((entity_id, provider.value))
            if cached is not None:
                found[entity_id] = cached
            elif entity_id in found:
                self._open[(entity_id, provider.value)] = found[entity_id]
        return found

    def _depend(self, task: OutboxTaskRow, on: OutboxTaskRow | None) -> None:
        """Make ``task`` wait on ``on``; blocked at once when ``on`` can no longer finish."""
        if on is None or on.id == task.id or on.status == TaskStatus.DONE:
            return
        self._session.add(TaskDependencyRow(task_id=task.id, depends_on=on.id))
        if task.status == TaskStatus.BLOCKED:
            return
        blocked = blocked_by(on)
        if blocked is not None:
            self._block(task, *blocked)

    def _block(self, task: OutboxTaskRow, root: str | None, reason: str | None) -> None:
        task.status, task.blocked_by, task.last_error = TaskStatus.BLOCKED.value, root, reason
        link = self._links.get((task.entity_id, task.provider))
        if link is not None:
            link.status, link.blocked_by, link.blocked_reason = SyncStatus.BLOCKED.value, root, reason

    async def retry(self, tasks: Iterable[OutboxTaskRow]) -> None:
        """Send dead tasks again with a fresh attempt budget; what they blocked follows them."""
        retried: list[str] = []
        for task in tasks:
            task.status, task.attempts, task.run_after = TaskStatus.PENDING.value, 0, self.now
            task.last_error, task.blocked_by, task.updated_at = None, None, self.now
            task.first_failed_at = None  # a fresh retry budget; maybe_sent stays, so creates look first
            if task.provider in PROVIDERS:
                link = await self.link(task.entity_id, Provider(task.provider))
                if link is not None and keeps_link(task, link):
                    link.status = (SyncStatus.DELETING if task.action == TaskAction.DELETE.value
                                   else SyncStatus.PENDING).value
                    link.blocked_by, link.blocked_reason, link.updated_at = None, None, self.now
            self.created.append(task)
            retried.append(task.id)
        await settle(self._session, [*retried, *await dependents(self._session, retried)],
                     now=self.now)

    async def upsert(
        self,
        *,
        provider: Provider,
        entity_type: str,
        entity_id: str,
        customer_id: str,
        parent_id: str | None,
    ) -> None:
        """Queue "make it look like ours" for one entity at one provider."""
        link = await self.link(entity_id, provider)
        previous = await self._open_task(entity_id, provider)
        waiting_upsert = (
            previous is not None
            and previous.status in WAITING
            and previous.action == TaskAction.UPSERT.value
        )
        if waiting_upsert and previous is not None and entity_id not in self._fresh:
            waiting_upsert = await self._still_waiting(previous)
        if link is None:
            link = ProviderLinkRow(
                entity_id=entity_id,
                provider=provider.value,
                entity_type=str(entity_type),
                status=SyncStatus.PENDING.value,
                updated_at=self.now,
            )
            self._session.add(link)
            self._links[(entity_id, provider.value)] = link
        elif not (waiting_upsert and link.status == SyncStatus.BLOCKED.value):
            link.status = SyncStatus.PENDING.value
            link.blocked_by = link.blocked_reason = None
            link.updated_at = self.now
        if waiting_upsert:
            return
        task = self._new_task(
            provider=provider,
            entity_type=entity_type,
            entity_id=entity_id,
            customer_id=customer_id,
            action=TaskAction.UPSERT,
        )
        if parent_id is not None:
            self._depend(task, await self._open_task(parent_id, provider))
        await self._follow(previous, task)

    async def delete(
        self,
        *,
        provider: Provider,
        entity_type: str,
        entity_id: str,
        customer_id: str,
        child_ids: Iterable[str] = (),
    ) -> None:
        """Queue the upstream delete of one entity, after its children's deletes."""
        link = await self.link(entity_id, provider)
        if link is None or link.status == SyncStatus.DELETED.value:
            return
        previous = await self._open_task(entity_id, provider)
        untried = previous is not None and previous.status in WAITING and previous.attempts == 0
        if previous is not None and untried and entity_id not in self._fresh:
            # Read it again under a lock: a claim committed since it was read makes it a tried
            # upsert that may reach the provider, which the delete must wait for rather than
            # cancel; a claim after the lock skips it until this transaction commits.
            untried = await self._still_waiting(previous) and previous.attempts == 0
        # An upsert already tried (maybe running now) may yet create the object upstream,
        # even when a newer, untried upsert is the entity's latest open task.
        tried = await self._tried_upsert(entity_id, provider, besides=previous)
        never_sent = (
            link.external_id is None
            and link.synced_at is None
            and tried is None
            and (previous is None or untried)
        )
        link.blocked_by = link.blocked_reason = None
        if never_sent:
            if previous is not None:
                await self._cancel(previous)
            link.status = SyncStatus.DELETED.value
            link.updated_at = self.now
            return
        link.status = SyncStatus.DELETING.value
        link.updated_at = self.now
        if previous is not None and previous.action == TaskAction.UPSERT.value:
            if untried:
                await self._cancel(previous)
                previous = tried
            elif previous.status == TaskStatus.DEAD:
                await self._drop(previous, TaskStatus.SUPERSEDED)
                previous = None
        task = self._new_task(
            provider=provider,
            entity_type=entity_type,
            entity_id=entity_id,
            customer_id=customer_id,
            action=TaskAction.DELETE,
        )
        await self._follow(previous, task)
        for child_id in child_ids:
            child_task = self._open.get((child_id, provider.value))
            if child_task is not None and child_task.action == TaskAction.DELETE.value:
                self._depend(task, child_task)

    async def _cancel(self, task: OutboxTaskRow) -> None:
        """Drop a task that never ran; whatever waited for it no longer has to."""
        await self._drop(task, TaskStatus.CANCELLED)

    async def _drop(self, task: OutboxTaskRow, status: TaskStatus) -> None:
        """Close a task that will not run (cancelled or superseded) and free what waited on it."""
        task.status = status.value
        task.updated_at = self.now
        self._open.pop((task.entity_id, task.provider), None)
        await self._session.flush()
        await settle(self._session, await release(self._session, task), now=self.now)

    async def _follow(self, previous: OutboxTaskRow | None, task: OutboxTaskRow) -> None:
        """Order ``task`` after the entity's previous open task, or replace it if it is dead."""
        if previous is not None and previous.status == TaskStatus.DEAD:
            await self._supersede(previous, task)
        else:
            self._depend(task, previous)

    async def _supersede(self, dead: OutboxTaskRow, successor: OutboxTaskRow) -> None:
        """A new task replaces a dead one: whatever waited for the dead task now waits for it."""
        dead.status = TaskStatus.SUPERSEDED.value
        dead.updated_at = self.now
        await self._session.flush()
        moved = await dependents(self._session, [dead.id])
        await self._session.exec(
            update(TaskDependencyRow)
            .where(col(TaskDependencyRow.depends_on) == dead.id)
            .values(depends_on=successor.id)
        )
        await settle(self._session, moved, now=self.now)
