"""The outbox planner's policies: which providers hold an entity, what it waits on upstream, and
how waiting tasks are blocked and released when a task they depend on dies or comes back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, EntityType, Provider, SyncStatus, TaskAction, TaskStatus
from gateway.customers.sync.targets import targets, upstream_parent
from gateway.outbox.settle import dead_reason, settle
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, TaskDependencyRow
from providers.registry import CAPABILITIES

VOLUE, ZF = Provider.VOLUE, Provider.ZAEHLERFREUNDE
BOTH = [VOLUE.value, ZF.value]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""The clock: every task is created at T0 plus its position; settle runs at ``NOW``."""
NOW = T0 + timedelta(hours=1)

# --- targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity_type", "kind", "expected"),
    [
        (EntityType.CUSTOMER, None, [VOLUE]),
        (EntityType.SITE, None, [VOLUE, ZF]),
        (EntityType.DEVICE, DeviceKind.METER, [ZF]),
        (EntityType.DEVICE, DeviceKind.VEHICLE, [VOLUE]),
        (EntityType.DEVICE, DeviceKind.CHARGER, [VOLUE, ZF]),
        (EntityType.DEVICE, DeviceKind.HOT_WATER_TANK, [VOLUE]),
        (EntityType.DEVICE, None, []),
    ],
)
def test_targets_are_the_enrolled_providers_that_take_the_entity(
    entity_type: EntityType, kind: DeviceKind | None, expected: list[Provider]
) -> None:
    """A customer enrolled at both gets each entity at exactly the providers that hold its type and kind."""
    assert targets(BOTH, entity_type, kind) == expected


def test_targets_only_among_the_enrolled_and_in_their_order() -> None:
    """A provider the customer is not enrolled at is never a target; the enrolment order is kept."""
    assert targets([ZF.value], EntityType.CUSTOMER) == []
    assert targets([ZF.value], EntityType.DEVICE, DeviceKind.VEHICLE) == []
    assert targets([], EntityType.SITE) == []
    assert targets([ZF.value, VOLUE.value], EntityType.SITE) == [ZF, VOLUE]


def test_targets_refuse_an_unknown_provider() -> None:
    """A provider name that is not a provider is an error, not silently skipped."""
    with pytest.raises(ValueError):
        targets(["acme"], EntityType.SITE)


# --- upstream_parent -------------------------------------------------------------------------


def _parent(provider: Provider, entity_type: EntityType, kind: DeviceKind | None = None,
            parent_site: str | None = "parent-site") -> str | None:
    return upstream_parent(provider, entity_type, customer_id="cust", site_id="site",
                           parent_site_id=parent_site, kind=kind)


def test_upstream_parent_at_volue_user_before_location_before_resource() -> None:
    """At Volue a site and a vehicle hang under the customer's user, other devices under the site."""
    assert _parent(VOLUE, EntityType.CUSTOMER) is None
    assert _parent(VOLUE, EntityType.SITE) == "cust"
    assert _parent(VOLUE, EntityType.DEVICE, DeviceKind.VEHICLE) == "cust"
    assert _parent(VOLUE, EntityType.DEVICE, DeviceKind.CHARGER) == "site"


def test_upstream_parent_at_zaehlerfreunde_space_before_device() -> None:
    """Zählerfreunde has no users: a site hangs under its parent site (or none), a device under its site."""
    assert _parent(ZF, EntityType.SITE) == "parent-site"
    assert _parent(ZF, EntityType.SITE, parent_site=None) is None
    assert _parent(ZF, EntityType.DEVICE, DeviceKind.METER) == "site"
    assert _parent(ZF, EntityType.DEVICE, DeviceKind.VEHICLE) is None


def test_upstream_parent_is_always_something_the_provider_holds() -> None:
    """For every provider, type and kind the provider takes, the parent is an entity it takes too."""
    kind_of_parent = {"cust": (EntityType.CUSTOMER, None), "site": (EntityType.SITE, None),
                      "parent-site": (EntityType.SITE, None)}
    checked = 0
    for provider, caps in CAPABILITIES.items():
        for entity_type in EntityType:
            for kind in ([None] if entity_type is not EntityType.DEVICE else list(DeviceKind)):
                if not caps.takes(entity_type, kind):
                    continue
                parent = _parent(provider, entity_type, kind)
                checked += 1
                if parent is not None:
                    assert caps.takes(*kind_of_parent[parent]), (provider, entity_type, kind, parent)
    assert checked >= 10


# --- settle ----------------------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as s:
        yield s
    await engine.dispose()


class Tasks:
    """Outbox tasks and their dependencies written straight into the session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.created = 0

    def add(self, status: TaskStatus, *, action: TaskAction = TaskAction.UPSERT, entity_id: str | None = None,
            provider: Provider = VOLUE, waits_on: tuple[OutboxTaskRow, ...] = (),
            link: SyncStatus | None = None, error: str | None = None) -> OutboxTaskRow:
        self.created += 1
        at = T0 + timedelta(seconds=self.created)
        task = OutboxTaskRow(
            id=str(uuid.uuid4()), provider=provider.value, entity_type=EntityType.SITE.value,
            entity_id=entity_id or str(uuid.uuid4()), customer_id="cust", action=action.value,
            status=status.value, run_after=at, created_at=at, updated_at=at, last_error=error)
        self.session.add(task)
        for parent in waits_on:
            self.session.add(TaskDependencyRow(task_id=task.id, depends_on=parent.id))
        if link is not None:
            self.session.add(ProviderLinkRow(entity_id=task.entity_id, provider=task.provider,
                                             entity_type=task.entity_type, status=link.value, updated_at=at))
        return task

    async def link(self, task: OutboxTaskRow) -> ProviderLinkRow:
        row = await self.session.get(ProviderLinkRow, (task.entity_id, task.provider))
        assert row is not None
        return row

    async def waits_on(self, task: OutboxTaskRow) -> set[str]:
        rows = await self.session.exec(
            select(TaskDependencyRow.depends_on).where(col(TaskDependencyRow.task_id) == task.id))
        return set(rows)


@pytest.fixture
def tasks(session: AsyncSession) -> Tasks:
    return Tasks(session)


async def test_settle_blocks_a_waiting_task_on_its_dead_parent(tasks: Tasks) -> None:
    """A pending task whose parent died is blocked by it, with reason and the given time, link included."""
    dead = tasks.add(TaskStatus.DEAD, error="422 refused")
    child = tasks.add(TaskStatus.PENDING, waits_on=(dead,), link=SyncStatus.PENDING)
    await settle(tasks.session, [child.id], now=NOW)
    assert (child.status, child.blocked_by, child.updated_at) == (TaskStatus.BLOCKED.value, dead.id, NOW)
    assert child.last_error == dead_reason(dead) and "422 refused" in dead_reason(dead)
    link = await tasks.link(child)
    assert (link.status, link.blocked_by, link.blocked_reason) == (
        SyncStatus.BLOCKED.value, dead.id, dead_reason(dead))
    assert link.updated_at.replace(tzinfo=UTC) == NOW


async def test_settle_carries_the_dead_root_down_a_chain(tasks: Tasks) -> None:
    """A grandchild is blocked by the dead root task itself, through its blocked parent."""
    dead = tasks.add(TaskStatus.DEAD, error="boom")
    child = tasks.add(TaskStatus.PENDING, waits_on=(dead,))
    grandchild = tasks.add(TaskStatus.PENDING, waits_on=(child,))
    await settle(tasks.session, [child.id], now=NOW)
    assert child.status == grandchild.status == TaskStatus.BLOCKED.value
    assert child.blocked_by == grandchild.blocked_by == dead.id
    assert grandchild.last_error == dead_reason(dead)


async def test_settle_releases_the_chain_when_the_root_is_retried(tasks: Tasks) -> None:
    """Once the dead task is pending again, its blocked dependents are pending again down the chain."""
    dead = tasks.add(TaskStatus.DEAD, error="boom")
    child = tasks.add(TaskStatus.PENDING, waits_on=(dead,), link=SyncStatus.PENDING)
    grandchild = tasks.add(TaskStatus.PENDING, action=TaskAction.DELETE, waits_on=(child,),
                           link=SyncStatus.DELETING)
    await settle(tasks.session, [child.id], now=T0 + timedelta(minutes=1))
    assert (await tasks.link(grandchild)).status == SyncStatus.BLOCKED.value
    dead.status = TaskStatus.PENDING.value
    await settle(tasks.session, [child.id], now=NOW)
    for task in (child, grandchild):
        assert (task.status, task.blocked_by, task.last_error, task.updated_at) == (
            TaskStatus.PENDING.value, None, None, NOW)
    assert (await tasks.link(child)).status == SyncStatus.PENDING.value
    assert (await tasks.link(grandchild)).status == SyncStatus.DELETING.value
    assert (await tasks.link(grandchild)).blocked_by is None


async def test_settle_leaves_tasks_with_live_parents_and_claimed_tasks_alone(tasks: Tasks) -> None:
    """A task whose parents are pending or done, or a task already running, is not changed."""
    pending_parent = tasks.add(TaskStatus.PENDING)
    done_parent = tasks.add(TaskStatus.DONE)
    dead = tasks.add(TaskStatus.DEAD)
    waiting = tasks.add(TaskStatus.PENDING, waits_on=(pending_parent, done_parent))
    running = tasks.add(TaskStatus.RUNNING, waits_on=(dead,))
    await settle(tasks.session, [waiting.id, running.id, "no-such-task"], now=NOW)
    assert (waiting.status, waiting.blocked_by) == (TaskStatus.PENDING.value, None)
    assert waiting.updated_at == T0 + timedelta(seconds=4)
    assert (running.status, running.blocked_by) == (TaskStatus.RUNNING.value, None)


async def test_settle_blocks_on_the_oldest_dead_parent(tasks: Tasks) -> None:
    """With two dead parents, the task is blocked by the one created first."""
    first = tasks.add(TaskStatus.DEAD)
    second = tasks.add(TaskStatus.DEAD)
    child = tasks.add(TaskStatus.PENDING, waits_on=(second, first))
    await settle(tasks.session, [child.id], now=NOW)
    assert child.blocked_by == first.id


async def test_a_waiting_delete_supersedes_its_records_dead_upsert(tasks: Tasks) -> None:
    """A delete waiting on its record's dead upsert supersedes it; the upsert's other dependents are freed."""
    upsert = tasks.add(TaskStatus.DEAD, error="boom")
    other = tasks.add(TaskStatus.DEAD, error="other")
    delete = tasks.add(TaskStatus.PENDING, action=TaskAction.DELETE, entity_id=upsert.entity_id,
                       waits_on=(upsert,), link=SyncStatus.DELETING)
    blocked_elsewhere = tasks.add(TaskStatus.BLOCKED, waits_on=(upsert,), error=dead_reason(upsert))
    blocked_elsewhere.blocked_by = upsert.id
    still_dead = tasks.add(TaskStatus.PENDING, waits_on=(other,))
    await settle(tasks.session, [delete.id, still_dead.id], now=NOW)
    assert (upsert.status, upsert.updated_at) == (TaskStatus.SUPERSEDED.value, NOW)
    assert (delete.status, delete.blocked_by) == (TaskStatus.PENDING.value, None)
    assert await tasks.waits_on(delete) == set() and await tasks.waits_on(blocked_elsewhere) == set()
    assert (blocked_elsewhere.status, blocked_elsewhere.blocked_by) == (TaskStatus.PENDING.value, None)
    assert (await tasks.link(delete)).status == SyncStatus.DELETING.value
    assert (still_dead.status, still_dead.blocked_by) == (TaskStatus.BLOCKED.value, other.id)


async def test_a_delete_does_not_supersede_another_records_or_providers_upsert(tasks: Tasks) -> None:
    """A dead upsert of another record, or of the same record at another provider, blocks the delete."""
    upsert_elsewhere = tasks.add(TaskStatus.DEAD, provider=ZF)
    delete = tasks.add(TaskStatus.PENDING, action=TaskAction.DELETE, entity_id=upsert_elsewhere.entity_id,
                       waits_on=(upsert_elsewhere,))
    other_record = tasks.add(TaskStatus.DEAD)
    delete2 = tasks.add(TaskStatus.PENDING, action=TaskAction.DELETE, waits_on=(other_record,))
    await settle(tasks.session, [delete.id, delete2.id], now=NOW)
    assert upsert_elsewhere.status == other_record.status == TaskStatus.DEAD.value
    assert (delete.status, delete.blocked_by) == (TaskStatus.BLOCKED.value, upsert_elsewhere.id)
    assert (delete2.status, delete2.blocked_by) == (TaskStatus.BLOCKED.value, other_record.id)
