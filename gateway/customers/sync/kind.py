"""Entity sync as a task kind: customer, site and device tasks on each provider's queue.

A round's tasks are loaded together (:func:`~.context.prepare`); compatible upserts go to the
provider as one batch request, the rest run concurrently, each request through the engine's
guard of the provider (:meth:`~gateway.outbox.engine.SyncEngine.send`). After the round the
provider links follow the tasks still held (synced, deleted, failed or retrying), and the
``record.synced``/``record.failed`` events are asked for.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Sequence

import msgspec
import structlog
from sqlalchemy import bindparam, update
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import EntityType, Provider, SyncStatus, TaskAction
from gateway.customers.sync.context import prepare
from gateway.customers.sync.links import update_links
from gateway.customers.sync.targets import ENTITY_TYPES
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.outcomes import OutcomeType, about_entity, wanted_types
from gateway.outbox.round_writes import keep_sent_keys
from gateway.store.db import on_postgres
from gateway.store.tables import OutboxTaskRow, table_of
from providers.base import Operation, Outcome, ProviderAdapter, ProviderError


class EntitySync:
    """The task kind (a ``TaskFamily``) of customer, site and device upserts and deletes."""

    entity_types = ENTITY_TYPES

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        """Load the round's records, keep what their creates would make, and send them."""
        queue = results[0].task.provider
        provider = Provider(queue)
        adapter = engine.adapters[provider]
        by_id = {result.task.id: result for result in results}
        tasks = [result.task for result in results]
        async with engine.sessions() as session:
            prepared = await prepare(session, provider, tasks, round_id=uuid.uuid4().hex)
        for task_id, why in prepared.unpreparable.items():
            by_id[task_id].fatal_reason = why
        await _note_creates(engine, adapter, prepared.operations.values(), tasks)
        groups: dict[tuple[str, str], list[Operation]] = defaultdict(list)
        for op in prepared.operations.values():
            groups[(op.entity_type.value, op.action.value)].append(op)
        limits = adapter.capabilities.batch_limits
        jobs: list[Awaitable[None]] = []
        for (entity_type, action), ops in groups.items():
            batchable = action == TaskAction.UPSERT.value and EntityType(entity_type) in limits
            if batchable and len(ops) > 1:
                size = limits[EntityType(entity_type)]
                for start in range(0, len(ops), size):
                    batch = ops[start:start + size]
                    jobs.append(engine.send(queue, [by_id[op.task_id] for op in batch],
                                            functools.partial(adapter.apply_batch, batch),
                                            what="a batch"))
            else:
                jobs.extend(_send_one(engine, queue, adapter, op, by_id[op.task_id]) for op in ops)
        await asyncio.gather(*jobs)

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Bring the records' provider links in line with the round, and ask for the events
        of records synced or failed."""
        now = utcnow()
        changes: list[dict[str, object]] = []
        for result in results:
            task = result.task
            key = {"entity": task.entity_id, "provider": task.provider}
            if result.outcome is not None:
                deleted = task.action == TaskAction.DELETE.value
                changes.append({**key, "change": "deleted" if deleted else "upserted",
                                "status": (SyncStatus.DELETED if deleted else SyncStatus.SYNCED).value,
                                "external": None if deleted else result.outcome.external_id,
                                "attempts": task.attempts, "error": None})
            elif result.held_back_s is None:
                changes.append({**key, "change": "failed" if result.dead else "retrying",
                                "status": SyncStatus.FAILED.value if result.dead else None,
                                "external": None, "attempts": result.attempts, "error": result.failure})
        await update_links(session, changes, now)
        wanted = await wanted_types(session)
        synced_wanted = OutcomeType.RECORD_SYNCED.value in wanted
        for result in results:
            task = result.task
            common = {"provider": task.provider, "action": task.action, "taskId": task.id}
            if (synced_wanted and result.outcome is not None
                    and task.action == TaskAction.UPSERT.value):
                result.events.append(about_entity(
                    OutcomeType.RECORD_SYNCED, entity_type=task.entity_type, entity_id=task.entity_id,
                    customer_id=task.customer_id, externalId=result.outcome.external_id, **common))
            if result.dead and wanted:
                result.events.append(about_entity(
                    OutcomeType.RECORD_FAILED, entity_type=task.entity_type, entity_id=task.entity_id,
                    customer_id=task.customer_id, error=result.failure, **common))


async def _send_one(engine: SyncEngine, queue: str, adapter: ProviderAdapter, op: Operation,
                    result: RoundResult) -> None:
    # this runs as its own asyncio task (gathered), so the binding ends with it
    structlog.contextvars.bind_contextvars(task_id=op.task_id, customer_id=result.task.customer_id)

    async def apply() -> list[Outcome | ProviderError]:
        return [await adapter.apply(op)]

    await engine.send(queue, [result], apply, what=f"task {op.task_id}")


async def _note_creates(engine: SyncEngine, adapter: ProviderAdapter, ops: Iterable[Operation],
                        tasks: Sequence[OutboxTaskRow]) -> None:
    """Before sending, keep with each task what its create would make (when the provider
    mints the id), so that a later attempt or a delete finds it even if this attempt's
    answer is lost or its worker killed. One statement for the round."""
    by_id = {task.id: task for task in tasks}
    updates: dict[str, str] = {}
    for op in ops:
        key = adapter.create_key(op)
        if key is None or key in op.sent_keys:
            continue
        task = by_id[op.task_id]
        task.sent_keys = updates[task.id] = msgspec.json.encode([*op.sent_keys, key]).decode()
    if not updates:
        return
    table = table_of(OutboxTaskRow)
    async with engine.sessions() as session:
        if on_postgres(session):
            await keep_sent_keys(session, list(updates), list(updates.values()))
        else:
            await session.execute(update(table).where(table.c.id == bindparam("k_id"))
                                  .values(sent_keys=bindparam("k_keys")),
                                  [{"k_id": i, "k_keys": k} for i, k in updates.items()])
        await session.commit()
