"""``gateway reconcile [--provider P] [--repair] [--json]``: drift between the records and the providers.

Compares what the gateway believes with what each provider holds (Volue: users, their
locations and resources; Zählerfreunde: spaces and their devices), lists the objects
missing, unexpected and differing, marks the drifted records (``sync.status: drifted``)
and, with ``--repair``, queues through the outbox what brings the provider back in step:
the running gateway's workers send it. Each comparison is kept (source ``cli``) and goes into
the audit trail with the host's user. Exit status: 0 no drift (or repair queued), 1
drift found and not repaired, 2 a provider could not be compared.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from gateway.bootstrap import build_adapters
from gateway.core.domain import Provider
from gateway.core.settings import Settings, SettingsError, load_settings
from gateway.http.audit import cli_actor, note, note_failure
from gateway.ops.tables import id_column, results_console
from gateway.reconcile.report import DriftReport, RepairResult
from gateway.reconcile.service import check, reconcilable
from gateway.store.db import create_engine, session_factory
from providers.base import ProviderError
from providers.registry import MissingCapability

console = Console(stderr=True, soft_wrap=True)


class Outcome(msgspec.Struct, kw_only=True):
    """What one provider's reconciliation found and (with ``--repair``) queued."""

    report: DriftReport | None = None
    repair: RepairResult | None = None
    error: str | None = None


async def run_reconcile(settings: Settings, providers: list[Provider] | None, *,
                        repair_drift: bool) -> dict[str, Outcome]:
    """Compare (and mark, and with ``repair_drift`` repair) each provider, by name."""
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    outcomes: dict[str, Outcome] = {}
    actor, action = cli_actor(), "drift.repair" if repair_drift else "drift.compare"
    try:
        async with build_adapters(settings) as adapters:
            for provider in providers or reconcilable(adapters):
                target = f"provider:{provider.value}"
                try:
                    report, fixed = await check(sessions, adapters, provider, repair_drift=repair_drift)
                except (ProviderError, MissingCapability) as exc:
                    outcomes[provider.value] = Outcome(error=f"{type(exc).__name__}: {exc}")
                    await note_failure(sessions, actor, action, target, exc)
                    continue
                outcomes[provider.value] = Outcome(report=report, repair=fixed)
                said = ", ".join(f"{n} {kind}" for kind, n in report.counts().items())
                if fixed is not None:
                    said += f"; {fixed.queued} task(s) queued for {len(fixed.records)} record(s)"
                async with sessions() as session:
                    note(session, actor, action, target, detail=f"{report.checked} compared: {said}")
                    await session.commit()
    finally:
        await engine.dispose()
    return outcomes


def _print(outcomes: dict[str, Outcome], *, wide: bool = False) -> None:
    out = results_console(wide=wide)
    for name, outcome in outcomes.items():
        if outcome.report is None:
            out.print(f"[red]{name}: not compared:[/red] {outcome.error}")
            continue
        report = outcome.report
        counts = ", ".join(f"{count} {drift}" for drift, count in report.counts().items())
        out.print(f"{name}: {report.checked} records compared, {report.held} objects held upstream, "
                  f"{report.skipped} left out (work under way): {counts}")
        if report.items:
            table = Table("drift", "type", id_column("record"), id_column("upstream id"), "detail")
            for item in report.items:
                detail = ", ".join(item.fields) if item.fields else (item.note or "")
                table.add_row(item.drift.value, item.entity_type, item.entity_id or "-", item.external_id,
                              detail)
            out.print(table)
        if outcome.repair is not None:
            fixed = outcome.repair
            out.print(f"{name}: repair queued {fixed.queued} outbox task(s) for {len(fixed.records)} "
                      f"record(s); the gateway's workers send them"
                      + (f"; {len(fixed.left)} unexpected object(s) left alone" if fixed.left else ""))


def _reconcile(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        return 2
    providers = [Provider(p) for p in args.provider] if args.provider else None
    outcomes = asyncio.run(run_reconcile(settings, providers, repair_drift=args.repair))
    if args.json:
        print(msgspec.json.encode(outcomes).decode())
    else:
        _print(outcomes, wide=args.wide)
    if any(o.report is None for o in outcomes.values()):
        return 2
    drifted = any(o.report is not None and o.report.items and o.repair is None for o in outcomes.values())
    return 1 if drifted else 0


def add_reconcile_command(sub: Any) -> None:
    """Add ``reconcile`` to the ``gateway`` parser's subcommands."""
    cmd = sub.add_parser("reconcile", help="compare the records with what each provider holds; "
                                           "--repair queues the fixes")
    cmd.add_argument("--provider", action="append", choices=[p.value for p in Provider],
                     help="only this provider (repeatable; default: every provider)")
    cmd.add_argument("--repair", action="store_true",
                     help="queue upserts of missing and differing records (children included) "
                          "and deletes of what deleted records left behind")
    cmd.add_argument("--json", action="store_true", help="print the reports as JSON")
    cmd.add_argument("--wide", action="store_true",
                     help="print tables at full width (the default when the output is not a terminal)")
    cmd.set_defaults(func=_reconcile)
