"""Reports to Volue (``POST /reports``) as outbox work.

:func:`queue_report` stores the request body exactly as it will be sent, in a
``volue_reports`` row, and queues a task on the ``volue`` queue (after the task
that creates the reported vehicle or location upstream, when one is open).
:class:`ReportKind` sends it; a 4xx from Volue fails the report for good, a
transient failure is retried by the engine like any other upstream write. A
report Volue took is marked sent in a short transaction of its own right after
the answer, before the round goes on, so a worker that dies later in the round
does not send it again: the next attempt finds it sent and is done. Reports of a
round go one after another, so each renews its task's lease just before it is sent
and is skipped when the lease lapsed meanwhile (another worker may hold it now).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy import Update, update
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import Provider, ReportStatus
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.unit_of_work import record_now
from gateway.store.event_tables import VolueReportRow
from gateway.store.tables import OutboxTaskRow, table_of
from providers.base import Outcome, ProviderError, TransientError
from providers.http import call_log
from providers.registry import MissingCapability

REPORT_KIND = "volue_report"
ENERGY_USAGE = "energy_usage"
"""A site's ``LocationEnergyUsage``."""
DEVICE_ENERGY_USAGE = "device_energy_usage"
"""A device's ``EnergyUsage``."""
ENERGY_USAGE_PLAN = "energy_usage_plan"
"""A site's ``LocationEnergyUsagePlan``."""
LPC_ACK = "lpc_ack"
"""An LPC request's acknowledgement (automatic, or a caller's accept/decline)."""


def queue_report(session: AsyncSession, planner: OutboxPlanner, *, kind: str, customer_id: str,
                 body: msgspec.Struct, site_id: str | None = None, device_id: str | None = None,
                 volue_event_id: str | None = None,
                 after: Iterable[OutboxTaskRow | None] = ()) -> VolueReportRow:
    """Store a report for Volue and queue its sending in the caller's transaction."""
    row = VolueReportRow(id=str(uuid.uuid4()), kind=kind, customer_id=customer_id, site_id=site_id,
                         device_id=device_id, volue_event_id=volue_event_id,
                         body=msgspec.to_builtins(body), status=ReportStatus.PENDING.value,
                         created_at=planner.now)
    session.add(row)
    planner.enqueue(queue=Provider.VOLUE.value, entity_type=REPORT_KIND, entity_id=row.id,
                    customer_id=customer_id, after=after)
    return row


class ReportKind:
    """``TaskKind`` sending ``volue_reports`` rows through Volue's report sender."""

    entity_type = REPORT_KIND
    queue = Provider.VOLUE.value

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        try:
            sender = engine.adapters.report_sender(Provider.VOLUE)
        except MissingCapability as exc:
            for result in results:
                result.fatal_reason = exc.message
            return
        async with engine.sessions() as session:
            ids = [r.task.entity_id for r in results]
            rows = {row.id: row for row in [await session.get(VolueReportRow, i) for i in ids] if row}
        for result in results:
            row = rows.get(result.task.entity_id)
            if row is None:
                result.fatal_reason = f"report {result.task.entity_id} no longer exists"
                continue
            if row.status == ReportStatus.SENT.value:
                result.outcome = Outcome(external_id=row.volue_report_id,
                                         note="sent by an earlier attempt")
                continue
            if not await engine.still_held(result.task):
                result.error = TransientError("the task's lease lapsed before sending")
                continue
            calls = result.calls
            token = call_log.set(calls)
            try:
                result.outcome = Outcome(external_id=await sender.send_report(row.body))
            except ProviderError as exc:
                result.error = exc
                continue
            finally:
                call_log.reset(token)
            # Shielded: a round cancelled now still records what Volue has taken.
            await asyncio.shield(record_now(engine.sessions, _sent(row.id, result.outcome, utcnow()),
                                            what=f"report {row.id} as sent"))

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Mark the round's sent reports that are not marked yet; note each failure, and fail
        a report for good when its task is dead."""
        now = utcnow()
        table = table_of(VolueReportRow)
        for result in results:
            if result.outcome is not None:
                await session.execute(_sent(result.task.entity_id, result.outcome, now))
                continue
            message = result.fatal_reason or (result.error.message if result.error else "failed")
            values: dict[str, object] = {"last_error": message[:2000]}
            if result.dead:
                values["status"] = ReportStatus.FAILED.value
            await session.execute(update(table).where(table.c.id == result.task.entity_id,
                                                      table.c.status != ReportStatus.SENT.value)
                                  .values(**values))


def _sent(report_id: str, outcome: Outcome, now: datetime) -> Update:
    """Mark a report Volue took as sent, unless it is marked already."""
    table = table_of(VolueReportRow)
    return (update(table)
            .where(table.c.id == report_id, table.c.status != ReportStatus.SENT.value)
            .values(status=ReportStatus.SENT.value, sent_at=now, last_error=None,
                    volue_report_id=outcome.external_id))
