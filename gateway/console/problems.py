"""The console's Problems page: everything not fine, grouped, with its actions, kept up to date.

Dead tasks, the tasks blocked behind them (with the reason), tasks retrying after failures
(attempts, next try), records found drifted, and each provider's circuit (closed, open or
half-open: since when, next probe, why), read from the embedded worker's guards or, with
arq workers, from what they share in Redis. The page asks for its problem list again every
few seconds (``static/live.js``; no reload, no build step), so an outage shows without
anyone pressing anything. Dead and blocked tasks can be dismissed with a reason (kept, and
in the audit trail), dead ones retried one by one or by group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.audited import audited_action, console_actor
from gateway.console.auth import require_session
from gateway.console.render import CsrfForm, Form, back, page
from gateway.core.clock import utcnow
from gateway.core.domain import SyncStatus, TaskStatus
from gateway.customers.service import circuit_views, describe_dismissal, dismissal_read
from gateway.outbox.circuit import CircuitView
from gateway.outbox.dismiss import REASON_MAX, dismiss_task
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import QUEUES
from gateway.runtime.process import Runtime
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow

SHOWN = 20
"""Rows listed per group (the count covers all of them)."""
LIMIT = 10_000
"""Tasks of one status read at most for the grouping."""
LIVE_EVERY_MS = 3000
"""How often the page asks for its problem list again."""
GROUP_DISMISS_MAX = 1000


@dataclass(slots=True)
class Group:
    """Problems of one kind at one provider with one reason."""

    kind: str
    """``dead``, ``blocked``, ``retrying`` or ``drifted``."""
    provider: str
    reason: str
    count: int = 0
    tasks: list[OutboxTaskRow] = field(default_factory=list)
    links: list[ProviderLinkRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Circuit:
    provider: str
    state: str
    since: datetime | None
    next_probe: datetime | None
    reason: str | None
    limit: int | None
    source: str


@dataclass(frozen=True, slots=True)
class Problems:
    circuits: list[Circuit]
    groups: list[Group]
    counts: dict[str, int]
    """Problems of each kind, every kind named."""
    read_at: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


KINDS = ("dead", "blocked", "retrying", "drifted")


def _at(wall: float | None) -> datetime | None:
    return datetime.fromtimestamp(wall, UTC) if wall is not None else None


def circuit_of(view: CircuitView) -> Circuit:
    return Circuit(provider=view.provider, state=view.state, since=_at(view.since),
                   next_probe=_at(view.next_probe), reason=view.reason, limit=view.limit, source=view.source)


def _add(groups: dict[tuple[str, str, str], Group], kind: str, provider: str, reason: str) -> Group:
    return groups.setdefault((kind, provider, reason), Group(kind, provider, reason))


async def load_problems(session: AsyncSession, circuits: list[CircuitView], *,
                        provider: str | None = None) -> Problems:
    """Everything not fine, grouped by kind, provider and reason (the biggest groups first)."""
    groups: dict[tuple[str, str, str], Group] = {}
    counts = dict.fromkeys(KINDS, 0)

    def tasks_where(*conditions: Any) -> Any:
        query = select(OutboxTaskRow).where(*conditions)
        if provider:
            query = query.where(col(OutboxTaskRow.provider) == provider)
        return query.order_by(col(OutboxTaskRow.updated_at).desc()).limit(LIMIT)

    dead = list(await session.exec(tasks_where(col(OutboxTaskRow.status) == TaskStatus.DEAD.value)))
    blocked = list(await session.exec(tasks_where(col(OutboxTaskRow.status) == TaskStatus.BLOCKED.value)))
    retrying = list(await session.exec(tasks_where(
        col(OutboxTaskRow.status).in_((TaskStatus.PENDING.value, TaskStatus.RUNNING.value)),
        col(OutboxTaskRow.last_error).is_not(None))))
    parents = {t.id: t for t in dead}
    missing = {t.blocked_by for t in blocked if t.blocked_by and t.blocked_by not in parents}
    if missing:
        for found in await session.exec(select(OutboxTaskRow).where(col(OutboxTaskRow.id).in_(missing))):
            parents[found.id] = found
    for task in dead:
        _note(_add(groups, "dead", task.provider, task.last_error or "(no error recorded)"), task)
    for task in blocked:
        parent = parents.get(task.blocked_by or "")
        why = f"waits on a dead task: {parent.last_error}" if parent and parent.last_error else (
            task.last_error or "waits on a dead task")
        _note(_add(groups, "blocked", task.provider, why), task)
    for task in retrying:
        _note(_add(groups, "retrying", task.provider, task.last_error or ""), task)
    links_query = select(ProviderLinkRow).where(col(ProviderLinkRow.status) == SyncStatus.DRIFTED.value)
    if provider:
        links_query = links_query.where(col(ProviderLinkRow.provider) == provider)
    for link in await session.exec(links_query.order_by(col(ProviderLinkRow.updated_at).desc()).limit(LIMIT)):
        group = _add(groups, "drifted", link.provider,
                     "differs from or is missing at the provider (Drift page: compare, then repair)")
        group.count += 1
        if len(group.links) < SHOWN:
            group.links.append(link)
    for group in groups.values():
        counts[group.kind] += group.count
    order = {kind: i for i, kind in enumerate(KINDS)}
    return Problems(
        circuits=[circuit_of(view) for view in circuits if not provider or view.provider == provider],
        groups=sorted(groups.values(), key=lambda g: (order[g.kind], -g.count, g.provider, g.reason)),
        counts=counts, read_at=utcnow())


def _note(group: Group, task: OutboxTaskRow) -> None:
    group.count += 1
    if len(group.tasks) < SHOWN:
        group.tasks.append(task)


# --- the page and its actions ---------------------------------------------------------------

Reason = Annotated[str, Meta(max_length=REASON_MAX)]
Queue = Annotated[str, Meta(pattern="^(" + "|".join(QUEUES) + ")$")]
QueueFilter = Annotated[str | None, Parameter(pattern="^(" + "|".join(QUEUES) + ")$")]


class DismissForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    reason: Reason = ""


class DismissGroupForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    provider: Queue
    error: Annotated[str, Meta(max_length=100_000)]
    reason: Reason = ""


class ProblemPages(Controller):
    path = "/console"
    include_in_schema = False
    guards = [require_session]

    @get("/problems", summary="Everything not fine: dead, blocked, retrying, drifted, and the circuits")
    async def problems(self, request: Request[Any, Any, Any], provider: QueueFilter = None) -> Template:
        return await _problems_page(request, provider)

    @get("/problems/live", summary="The Problems page's list alone, which the page polls")
    async def live(self, request: Request[Any, Any, Any], provider: QueueFilter = None) -> Template:
        data = await _load(request, provider)
        answer = page(request, "_problems.html", "problems", data=data, shown=SHOWN, provider=provider or "")
        answer.headers["X-Problems"] = str(data.total)
        return answer

    @get("/failures", summary="The former Failures page, now the Problems page (old links keep working)")
    async def failures(self, request: Request[Any, Any, Any]) -> Template:
        return await _problems_page(request, None)

    @post("/tasks/{task_id:str}/dismiss", status_code=303,
          summary="Dismiss a dead or blocked task, with a reason")
    async def dismiss(self, request: Request[Any, Any, Any], task_id: str,
                      data: Annotated[DismissForm, Form]) -> Redirect:
        actor = console_actor(request)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> Any:
            return dismissal_read(await dismiss_task(session, task_id, reason=data.reason, actor=actor.label,
                                                     now=planner.now))

        done = await audited_action(request, "task.dismiss", f"task:{task_id}", work,
                                    detail=describe_dismissal)
        more = f", and {len(done.also_dismissed)} task(s) waiting on it" if done.also_dismissed else ""
        return back(request, "/console/problems", f"task {task_id} dismissed{more}: {done.reason}")

    @post("/problems/dismiss", status_code=303, summary="Dismiss every dead task of a group, with a reason")
    async def dismiss_group(self, request: Request[Any, Any, Any],
                            data: Annotated[DismissGroupForm, Form]) -> Redirect:
        actor = console_actor(request)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, int]:
            ids = list(await session.exec(select(OutboxTaskRow.id).where(
                col(OutboxTaskRow.status) == TaskStatus.DEAD.value,
                col(OutboxTaskRow.provider) == data.provider,
                col(OutboxTaskRow.last_error) == data.error).order_by(col(OutboxTaskRow.created_at))
                .limit(GROUP_DISMISS_MAX)))
            waiting = 0
            for task_id in ids:
                done = await dismiss_task(session, task_id, reason=data.reason, actor=actor.label,
                                          now=planner.now)
                waiting += len(done.with_it)
            return len(ids), waiting

        count, waiting = await audited_action(
            request, "task.dismiss_many", f"queue:{data.provider}", work,
            detail=lambda r: f"{r[0]} dead task(s) dismissed, {r[1]} waiting: {data.reason.strip()}")
        return back(request, "/console/problems",
                    f"{count} dead task(s) of {data.provider} dismissed, and {waiting} waiting on them")


async def _load(request: Request[Any, Any, Any], provider: str | None) -> Problems:
    circuits = await circuit_views(request.app.state)
    async with Runtime.of(request).sessions() as session:
        return await load_problems(session, circuits, provider=provider)


async def _problems_page(request: Request[Any, Any, Any], provider: str | None) -> Template:
    data = await _load(request, provider)
    return page(request, "problems.html", "problems", data=data, shown=SHOWN, provider=provider or "",
                queues=QUEUES, live_every=LIVE_EVERY_MS)

