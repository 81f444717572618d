"""Reports to Volue (``POST /reports``) as outbox work.

:func:`queue_report` renders a canonical report (``gateway.core.reports``) with the
provider's report format (``providers.registry.report_format``), stores the body exactly as
it will be sent in a ``volue_reports`` row, and queues a task on the ``volue`` queue (after
the task that creates the reported vehicle or location upstream, when one is open).
:class:`ReportKind` sends the stored body through the provider's report sink; a 4xx from
Volue fails the report for good, a
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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, Text, Update, bindparam, cast, insert, update
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import Provider, ReportStatus, TaskAction, TaskStatus
from gateway.core.reports import Report
from gateway.outbox.dispatch import QueuedTask
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.plan import OutboxPlanner, blocked_by
from gateway.outbox.provider_calls import capability, provider_call
from gateway.outbox.unit_of_work import record_now
from gateway.store.db import is_postgres
from gateway.store.event_tables import VolueReportRow
from gateway.store.tables import OutboxTaskRow, TaskDependencyRow, table_of
from providers.base import Outcome, TransientError
from providers.registry import report_format

REPORTS_TO = Provider.VOLUE
"""The provider that takes the gateway's reports."""
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
                 report: Report, site_id: str | None = None, device_id: str | None = None,
                 after: Iterable[OutboxTaskRow | None] = ()) -> VolueReportRow:
    """Render a report, store it for Volue and queue its sending in the caller's transaction."""
    body = report_format(REPORTS_TO).render_report(report)
    row = VolueReportRow(id=str(uuid.uuid4()), kind=kind, customer_id=customer_id, site_id=site_id,
                         device_id=device_id, volue_event_id=report.event_id,
                         body=msgspec.to_builtins(body), status=ReportStatus.PENDING.value,
                         created_at=planner.now)
    session.add(row)
    planner.enqueue(queue=REPORTS_TO.value, entity_type=REPORT_KIND, entity_id=row.id,
                    customer_id=customer_id, after=after)
    return row


@dataclass(frozen=True, slots=True)
class NewReport:
    """One report for :func:`queue_reports`."""

    id: str
    customer_id: str
    report: Report
    site_id: str | None = None
    after: OutboxTaskRow | None = None
    """The task it waits for (the open task that creates the reported location, say)."""


async def queue_reports(session: AsyncSession, planner: OutboxPlanner, *, kind: str,
                        reports: Sequence[NewReport]) -> None:
    """:func:`queue_report` for many reports in three statements (reports, tasks, their waits);
    the bodies are rendered and encoded once, and the tasks' queue is woken after the commit."""
    if not reports:
        return
    render = report_format(REPORTS_TO).render_report
    connection = await session.connection()
    now = planner.now
    encoder = msgspec.json.Encoder()
    body: Any = bindparam("body_json", type_=Text)
    if is_postgres(connection):
        body = cast(body, JSON)
    table = table_of(VolueReportRow)
    await connection.execute(
        insert(table).values(id=bindparam("r_id"), kind=kind, customer_id=bindparam("r_customer"),
                             site_id=bindparam("r_site"), body=body,
                             status=ReportStatus.PENDING.value, created_at=now),
        [{"r_id": r.id, "r_customer": r.customer_id, "r_site": r.site_id,
          "body_json": encoder.encode(render(r.report)).decode()} for r in reports])
    tasks: list[dict[str, Any]] = []
    waits: list[dict[str, str]] = []
    for report in reports:
        task_id = str(uuid.uuid4())
        parent = report.after
        blocked = None
        if parent is not None and parent.status != TaskStatus.DONE:
            waits.append({"task_id": task_id, "depends_on": parent.id})
            blocked = blocked_by(parent)
        tasks.append({
            "id": task_id, "provider": REPORTS_TO.value, "entity_type": REPORT_KIND,
            "entity_id": report.id, "customer_id": report.customer_id,
            "action": TaskAction.UPSERT.value,
            "status": (TaskStatus.PENDING if blocked is None else TaskStatus.BLOCKED).value,
            "attempts": 0, "run_after": now, "lease_until": None,
            "last_error": None if blocked is None else blocked[1], "created_at": now, "updated_at": now,
            "first_failed_at": None, "maybe_sent": False,
            "blocked_by": None if blocked is None else blocked[0], "sent_keys": None})
    await connection.execute(insert(table_of(OutboxTaskRow)), tasks)
    if waits:
        await connection.execute(insert(table_of(TaskDependencyRow)), waits)
    planner.wake(QueuedTask(task["id"], task["provider"]) for task in tasks)


class ReportKind:
    """``TaskKind`` sending ``volue_reports`` rows through Volue's report sink."""

    entity_type = REPORT_KIND
    queue = REPORTS_TO.value

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        sender = capability(results, engine.adapters.report_sink, REPORTS_TO)
        if sender is None:
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
            with provider_call(result):
                result.outcome = Outcome(external_id=await sender.send_report(row.body))
            if result.outcome is None:
                continue
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
