"""Outbox planning: which upstream work a write creates, inside the write's own transaction.

Rules:

* An entity is sent to every provider its customer is enrolled at that takes
  it (``providers.registry.CAPABILITIES``).
* A task waits for its upstream parent's open task at the same provider
  (user before location before resource; space before device), recorded as a
  ``task_dependencies`` row that the worker clears when the parent is done.
* A delete waits for the deletes of the entity's children (child first).
* An upsert is not queued twice: while one is still pending the worker will
  read the newest state anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, EntityType, Provider, SyncStatus, TaskAction, TaskStatus
from gateway.outbox.dispatch import Wakeable
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, TaskDependencyRow
from providers.registry import CAPABILITIES

OPEN_STATUSES = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.DEAD)


def targets(
    providers: Iterable[str], entity_type: EntityType, kind: DeviceKind | None = None
) -> list[Provider]:
    """The providers (of those the customer is enrolled at) that hold this entity."""
    return [
        Provider(p) for p in providers if CAPABILITIES[Provider(p)].takes(entity_type, kind)
    ]


def upstream_parent(
    provider: Provider,
    entity_type: EntityType,
    *,
    customer_id: str,
    site_id: str | None = None,
    parent_site_id: str | None = None,
    kind: DeviceKind | None = None,
) -> str | None:
    """The entity whose upstream object must exist before this one's can be created."""
    if entity_type is EntityType.CUSTOMER:
        return None
    if entity_type is EntityType.SITE:
        if CAPABILITIES[provider].customers:
            return customer_id
        return parent_site_id
    if kind is DeviceKind.VEHICLE:
        return customer_id if CAPABILITIES[provider].customers else None
    return site_id


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
        task = (
            await self._session.exec(
                select(OutboxTaskRow)
                .where(
                    col(OutboxTaskRow.entity_id) == entity_id,
                    col(OutboxTaskRow.provider) == provider.value,
                    col(OutboxTaskRow.status).in_(OPEN_STATUSES),
                )
                .order_by(col(OutboxTaskRow.created_at).desc())
                .limit(1)
            )
        ).first()
        if task is not None:
            self._open[key] = task
        return task

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
        entity_type: EntityType,
        entity_id: str,
        customer_id: str,
        action: TaskAction,
    ) -> OutboxTaskRow:
        task = OutboxTaskRow(
            id=str(uuid.uuid4()),
            provider=provider.value,
            entity_type=entity_type.value,
            entity_id=entity_id,
            customer_id=customer_id,
            action=action.value,
            status=TaskStatus.PENDING.value,
            attempts=0,
            run_after=self.now,
            created_at=self.now,
            updated_at=self.now,
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
        )
        self._session.add(task)
        self.created.append(task)
        for parent in after:
            self._depend(task, parent)
        return task

    async def open_task(self, entity_id: str, provider: Provider) -> OutboxTaskRow | None:
        """The newest unfinished task of an entity at a provider (to run new work after it)."""
        return await self._open_task(entity_id, provider)

    def _depend(self, task: OutboxTaskRow, on: OutboxTaskRow | None) -> None:
        if on is not None and on.id != task.id and on.status != TaskStatus.DONE:
            self._session.add(TaskDependencyRow(task_id=task.id, depends_on=on.id))

    async def upsert(
        self,
        *,
        provider: Provider,
        entity_type: EntityType,
        entity_id: str,
        customer_id: str,
        parent_id: str | None,
    ) -> None:
        """Queue "make it look like ours" for one entity at one provider."""
        link = await self.link(entity_id, provider)
        if link is None:
            link = ProviderLinkRow(
                entity_id=entity_id,
                provider=provider.value,
                entity_type=entity_type.value,
                status=SyncStatus.PENDING.value,
                updated_at=self.now,
            )
            self._session.add(link)
            self._links[(entity_id, provider.value)] = link
        else:
            link.status = SyncStatus.PENDING.value
            link.updated_at = self.now
        previous = await self._open_task(entity_id, provider)
        if (
            previous is not None
            and previous.status == TaskStatus.PENDING
            and previous.action == TaskAction.UPSERT.value
        ):
            return
        task = self._new_task(
            provider=provider,
            entity_type=entity_type,
            entity_id=entity_id,
            customer_id=customer_id,
            action=TaskAction.UPSERT,
        )
        await self._follow(previous, task)
        if parent_id is not None:
            self._depend(task, await self._open_task(parent_id, provider))

    async def delete(
        self,
        *,
        provider: Provider,
        entity_type: EntityType,
        entity_id: str,
        customer_id: str,
        child_ids: Iterable[str] = (),
    ) -> None:
        """Queue the upstream delete of one entity, after its children's deletes."""
        link = await self.link(entity_id, provider)
        if link is None or link.status == SyncStatus.DELETED.value:
            return
        previous = await self._open_task(entity_id, provider)
        never_sent = (
            link.external_id is None
            and link.synced_at is None
            and (previous is None or (previous.status == TaskStatus.PENDING and previous.attempts == 0))
        )
        if never_sent:
            if previous is not None:
                await self._cancel(previous)
            link.status = SyncStatus.DELETED.value
            link.updated_at = self.now
            return
        link.status = SyncStatus.DELETING.value
        link.updated_at = self.now
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
        task.status = TaskStatus.CANCELLED.value
        task.updated_at = self.now
        self._open.pop((task.entity_id, task.provider), None)
        await self._session.flush()
        await self._session.exec(
            delete(TaskDependencyRow).where(
                col(TaskDependencyRow.depends_on) == task.id
            )
        )

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
        await self._session.exec(
            update(TaskDependencyRow)
            .where(col(TaskDependencyRow.depends_on) == dead.id)
            .values(depends_on=successor.id)
        )
