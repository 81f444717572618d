"""What every task kind does around its provider calls.

A kind asks the adapters for what it needs (a report sink, the programme, an
invite sender) once per round with :func:`capability`: when the configured
adapter lacks it, every task of the round fails for good with the reason and
the kind has nothing to send. Each task's provider calls run inside
:func:`provider_call`: their exchanges go to the task's call history
(``RoundResult.calls``) and a ``ProviderError`` becomes the task's error, which
the engine retries or fails by the error table; each task's calls run inside its trace span
(:func:`gateway.observability.tracing.task_span`).

:class:`CallHistory` turns a round's call records into the rows of the sync history
(``upstream_calls``), the bodies of each exchange stored once (``upstream_call_bodies``)
however many tasks one batch request carried.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider
from gateway.observability.tracing import task_span
from gateway.outbox.round_writes import insert_bodies, insert_history
from gateway.store.db import on_postgres
from gateway.store.tables import OutboxTaskRow, UpstreamCallBodyRow, UpstreamCallRow, table_of
from providers.base import CallRecord, ProviderError
from providers.http import call_log
from providers.registry import MissingCapability

if TYPE_CHECKING:
    from gateway.outbox.results import RoundResult

HISTORY_PER_TASK = 20
"""The most calls of one task's attempt kept in the history (the last ones)."""

T = TypeVar("T")


def capability(results: Sequence[RoundResult], lookup: Callable[[Provider], T],
               provider: Provider) -> T | None:
    """``lookup(provider)``, or ``None`` with every result failed when the adapter lacks it."""
    try:
        return lookup(provider)
    except MissingCapability as exc:
        for result in results:
            result.fatal_reason = exc.message
        return None


@contextmanager
def provider_call(result: RoundResult) -> Iterator[None]:
    """Record the exchanges of the block on ``result`` and keep a ``ProviderError`` as its error.

    The error does not propagate: code after the block checks ``result.error``.
    """
    task = result.task
    token = call_log.set(result.calls)
    try:
        with task_span(f"{task.entity_type} {task.action}", [task.trace_context], **span_attributes(task)):
            yield
    except ProviderError as exc:
        result.error = exc
    finally:
        call_log.reset(token)


def span_attributes(task: OutboxTaskRow) -> dict[str, str | int]:
    """What a task's trace span says of it."""
    return {"gateway.task.id": task.id, "gateway.task.queue": task.provider,
            "gateway.task.kind": task.entity_type, "gateway.task.attempt": task.attempts,
            "gateway.entity.id": task.entity_id}


class CallHistory:
    """A round's call history: one row per call and task, the bodies of an exchange once."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.bodies: list[dict[str, object]] = []
        self._body_ids: dict[int, str] = {}

    def add(self, task: OutboxTaskRow, calls: Sequence[CallRecord]) -> None:
        """The last :data:`HISTORY_PER_TASK` calls of ``task``'s attempt."""
        entity_id, entity_type, customer_id = task.entity_id, task.entity_type, task.customer_id
        provider, task_id = task.provider, task.id
        for call in calls[-HISTORY_PER_TASK:]:
            self.rows.append({
                "entity_id": entity_id, "entity_type": entity_type, "customer_id": customer_id,
                "provider": provider, "task_id": task_id, "method": call.method, "route": call.route,
                "status": call.status, "latency_ms": call.latency_ms, "error": call.error,
                "trace_id": call.trace_id, "body_id": self._body_of(call),
            })

    def _body_of(self, call: CallRecord) -> str | None:
        if call.request_body is None and call.response_body is None:
            return None
        # the tasks of one batch request hold the same record objects
        body_id = self._body_ids.get(id(call))
        if body_id is None:
            body_id = self._body_ids[id(call)] = uuid.uuid4().hex
            self.bodies.append({
                "id": body_id, "request_body": call.request_body, "response_body": call.response_body,
                "request_truncated": call.request_truncated,
                "response_truncated": call.response_truncated,
            })
        return body_id

    async def write(self, session: AsyncSession, now: datetime) -> None:
        """Insert the rows, all with the time ``now`` (in the round's transaction)."""
        if on_postgres(session):
            await insert_bodies(session, self.bodies, now)
            await insert_history(session, self.rows, now)
            return
        if self.bodies:
            await session.execute(insert(table_of(UpstreamCallBodyRow)),
                                  [{**b, "at": now} for b in self.bodies])
        if self.rows:
            await session.execute(insert(table_of(UpstreamCallRow)), [{**r, "at": now} for r in self.rows])
