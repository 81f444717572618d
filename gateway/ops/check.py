"""``gateway check``: a one-screen health summary for operators.

Checks the database (and its migration revision), Redis when configured, a
token fetch from each provider with the configured credentials, Volue's webhooks
(a warning when none posts to the gateway's receiver or one is disabled), and the
outbox backlog by provider and status with the age of the oldest open task, where
the key encrypting webhook secrets comes from (a failure when none is configured and
none can be kept beside a SQLite file, as on PostgreSQL), dead tasks (a failure,
naming how many), and records synced to a provider that no longer holds them (a
provider or emulator reset: a warning naming ``gateway reconcile --repair``). The
Volue API and token URLs in use are printed; tokens and secrets never are. Exit
status 0 when every check passes (warnings included), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text

from gateway.bootstrap import build_adapters
from gateway.core.domain import Provider, TaskStatus
from gateway.core.secrets_box import key_file
from gateway.core.settings import Settings
from gateway.events.receiver import PATH as RECEIVER_PATH
from gateway.ops.tables import results_console
from gateway.reconcile.report import Drift
from gateway.reconcile.service import compare, reconcilable
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, table_of
from providers.base import Capability, CredentialsProbe, Webhook, WebhookRegistry
from providers.registry import Adapters

CHECK_TIMEOUT_S = 10.0



class CheckFailed(Exception):
    """A check found something wrong; ``message`` says what."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the summary."""

    name: str
    ok: bool
    detail: str
    seconds: float
    warning: bool = False
    """Passed, but something deserves a look (shown as ``warn``)."""


class Backlog(msgspec.Struct, frozen=True, kw_only=True):
    """Open outbox tasks of one provider and status."""

    provider: str
    status: str
    count: int
    oldest_age_s: float | None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    checks: list[Check]
    backlog: list[Backlog]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


async def _timed(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_S)
        ok = True
    except TimeoutError:
        detail, ok = f"no answer within {CHECK_TIMEOUT_S:.0f} s", False
    except Exception as exc:
        detail, ok = _failure(exc), False
    return Check(name=name, ok=ok, detail=detail, seconds=time.perf_counter() - started)


def _failure(exc: BaseException) -> str:
    """What went wrong, without anything a secret could hide in (only the provider's message)."""
    message = getattr(exc, "message", None)
    return f"{type(exc).__name__}: {message}" if isinstance(message, str) else type(exc).__name__


async def _backlog(sessions: Any) -> list[Backlog]:
    table = table_of(OutboxTaskRow)
    stmt = (
        select(table.c.provider, table.c.status, func.count(), func.min(table.c.created_at))
        .where(table.c.status.in_((TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.DEAD)))
        .group_by(table.c.provider, table.c.status)
        .order_by(table.c.provider, table.c.status)
    )
    now = datetime.now(UTC)
    async with sessions() as session:
        rows = (await session.execute(stmt)).all()
    result = []
    for provider, status, count, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age = (now - oldest).total_seconds() if oldest is not None else None
        result.append(Backlog(provider=provider, status=status, count=int(count), oldest_age_s=age))
    return result


async def run_checks(settings: Settings) -> Report:
    """Run every check against the configured database, Redis and providers."""
    engine = create_engine(settings.store.database_url, pool_size=2)
    sessions = session_factory(engine)
    checks: list[Check] = []
    backlog: list[Backlog] = []
    try:
        async def database() -> str:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
                try:
                    found = await session.execute(text("SELECT version_num FROM alembic_version"))
                    revision = found.scalar()
                except Exception:
                    raise CheckFailed("answers, but no migrations are applied: run `gateway db upgrade`") \
                        from None
            return f"answers; schema revision {revision}"

        checks.append(await _timed("database", database))
        if checks[-1].ok:
            try:
                backlog = await _backlog(sessions)
            except Exception as exc:
                checks.append(Check(name="outbox", ok=False, detail=_failure(exc), seconds=0.0))
            else:
                checks.append(dead_tasks_check(backlog))
        checks.append(secrets_key_check(settings))
        if checks[0].ok:
            async with build_adapters(settings) as adapters:
                checks.extend(await missing_upstream_checks(sessions, adapters, reconcilable(adapters)))
    finally:
        await engine.dispose()

    if settings.store.redis_url:
        async def redis_ping() -> str:
            from redis.asyncio import Redis

            client = Redis.from_url(settings.store.redis_url)
            try:
                await client.ping()
                queued = await client.zcard("arq:queue")
            finally:
                await client.aclose()
            return f"answers; {queued} queued wake-up job(s)"

        checks.append(await _timed("redis", redis_ping))
    else:
        checks.append(Check(name="redis", ok=True, detail="not configured (embedded worker)", seconds=0.0))

    checks.append(Check(
        name="volue urls", ok=True, seconds=0.0,
        detail=f"API {settings.volue.resolved_base_url()}; token {settings.volue.resolved_token_url()}"
               + (" (emulated)" if settings.volue.emulated else "")))
    async with build_adapters(settings) as adapters:
        for provider in adapters.offering(Capability.CREDENTIALS_PROBE):
            probe = adapters.credentials_probe(provider)

            async def fetch(probe: CredentialsProbe = probe) -> str:
                await probe.check_credentials()
                return "token fetched"

            checks.append(await _timed(f"{provider.value} token", fetch))
        if Provider.VOLUE in adapters.offering(Capability.WEBHOOK_REGISTRY):
            checks.append(await _webhook_check(settings, adapters.webhook_registry(Provider.VOLUE)))
    return Report(checks=checks, backlog=backlog)


def dead_tasks_check(backlog: list[Backlog]) -> Check:
    """A failure when any outbox task is dead (it will not be tried again by itself)."""
    dead = sum(row.count for row in backlog if row.status == TaskStatus.DEAD)
    if not dead:
        return Check(name="dead tasks", ok=True, detail="none", seconds=0.0)
    where = ", ".join(f"{row.provider} {row.count}" for row in backlog if row.status == TaskStatus.DEAD)
    return Check(name="dead tasks", ok=False, seconds=0.0,
                 detail=f"{dead} dead task(s) ({where}): retry them, or dismiss those no longer "
                        "wanted, on the console's Problems page (/console/problems)")


def secrets_key_check(settings: Settings) -> Check:
    """Where the key encrypting webhook secrets comes from; a failure when there is none."""
    if settings.secrets.key:
        return Check(name="secrets key", ok=True, detail="GATEWAY_SECRETS_KEY is set", seconds=0.0)
    path = key_file(settings)
    if path is not None:
        return Check(name="secrets key", ok=True, detail=f"kept in {path}", seconds=0.0)
    database = settings.store.database_url.split("://")[0].split("+")[0]
    return Check(name="secrets key", ok=False, seconds=0.0,
                 detail=f"GATEWAY_SECRETS_KEY is not set (nor GATEWAY_SECRETS_KEY_FILE): with {database} "
                        "every process needs the same key, and webhook secrets cannot be stored without it")


async def missing_upstream(sessions: Any, adapters: Adapters, provider: Provider) -> int:
    """How many records the gateway holds as synced to ``provider`` that it no longer holds."""
    report = await asyncio.wait_for(compare(sessions, adapters, provider), timeout=CHECK_TIMEOUT_S * 3)
    return len(report.of(Drift.MISSING))


def repair_hint(provider: Provider, missing: int) -> str:
    """The one line saying that ``provider`` lost records, and the repair."""
    return (f"{provider.value} no longer holds {missing} record(s) the gateway has synced there "
            f"(was it reset?): run `gateway reconcile --provider {provider.value} --repair` "
            "to send them again")


async def missing_upstream_checks(sessions: Any, adapters: Adapters,
                                  providers: list[Provider]) -> list[Check]:
    """Per provider, whether it still holds what the gateway synced there."""
    checks = []
    for provider in providers:
        started = time.perf_counter()
        try:
            missing = await missing_upstream(sessions, adapters, provider)
        except Exception as exc:
            checks.append(Check(name=f"{provider.value} records", ok=True, warning=True,
                                detail=f"not compared: {_failure(exc)}",
                                seconds=time.perf_counter() - started))
            continue
        elapsed = time.perf_counter() - started
        if missing:
            checks.append(Check(name=f"{provider.value} records", ok=True, warning=True,
                                detail=repair_hint(provider, missing), seconds=elapsed))
        else:
            checks.append(Check(name=f"{provider.value} records", ok=True, seconds=elapsed,
                                detail="every synced record is there"))
    return checks


async def _webhook_check(settings: Settings, registry: WebhookRegistry) -> Check:
    """Volue's webhooks against the gateway's receiver: a warning when none posts there or
    one that does is disabled."""
    started = time.perf_counter()
    try:
        hooks = await asyncio.wait_for(registry.list_webhooks(), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:
        return Check(name="volue webhooks", ok=False, detail=_failure(exc),
                     seconds=time.perf_counter() - started)
    warnings = webhook_warnings(hooks, settings.volue.webhook_url)
    elapsed = time.perf_counter() - started
    if warnings:
        return Check(name="volue webhooks", ok=True, warning=True, detail="; ".join(warnings),
                     seconds=elapsed)
    return Check(name="volue webhooks", ok=True, seconds=elapsed,
                 detail=f"{len(hooks)} registered, enabled, posting to the receiver")


def webhook_warnings(hooks: list[Webhook], receiver_url: str) -> list[str]:
    """What is wrong with Volue's webhooks as seen from ``receiver_url`` (empty: any URL
    ending in the receiver's path counts as the gateway's)."""
    if not hooks:
        return ["no webhook registered at Volue: events arrive only by the reconciliation poll "
                "(`gateway volue webhooks register`)"]
    out = []
    ours = 0
    for hook in hooks:
        points_here = (hook.url.rstrip("/") == receiver_url.rstrip("/") if receiver_url
                       else urlsplit(hook.url).path.rstrip("/") == RECEIVER_PATH)
        if not points_here:
            out.append(f"webhook {hook.webhook_id} posts to {hook.url}, not to the gateway's receiver "
                       f"({receiver_url or '...' + RECEIVER_PATH})")
            continue
        ours += 1
        if not hook.enabled:
            out.append(f"webhook {hook.webhook_id} is disabled "
                       f"(`gateway volue webhooks enable {hook.webhook_id}`)")
    if not ours:
        out.append("no webhook posts to the gateway's receiver")
    return out


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(report: Report, console: Console) -> None:
    """Print the report as two small tables."""
    checks = Table("check", "", "detail", "time", title="gateway health")
    for check in report.checks:
        mark = ("[red]FAILED[/red]" if not check.ok else
                "[yellow]warn[/yellow]" if check.warning else "[green]ok[/green]")
        checks.add_row(check.name, mark, check.detail, f"{check.seconds * 1000:.0f} ms")
    console.print(checks)
    backlog = Table("provider", "status", "tasks", "oldest", title="outbox backlog")
    for row in report.backlog:
        backlog.add_row(row.provider, row.status, str(row.count), _age(row.oldest_age_s))
    if not report.backlog:
        backlog.add_row("-", "-", "0", "-")
    console.print(backlog)


def check_command(settings: Settings, console: Console | None = None) -> int:
    """``gateway check``: print the summary; 0 when everything passed, 1 otherwise."""
    report = asyncio.run(run_checks(settings))
    render(report, console or results_console())
    return 0 if report.ok else 1
