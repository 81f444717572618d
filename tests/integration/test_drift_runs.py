"""Drift results are kept with their source, and the CLI's comparisons are audited."""

from __future__ import annotations

import getpass
from typing import Any

from sqlmodel import select

from gateway.bootstrap import build_adapters
from gateway.core.settings import load_settings
from gateway.ops.reconcile_command import run_reconcile
from gateway.reconcile.runs import recent_runs, report_of
from gateway.reconcile.service import reconcilable, reconcile
from gateway.store.db import create_engine, session_factory
from gateway.store.ops_tables import AuditRow
from tests.conftest import ADMIN_KEY


async def test_the_daily_run_and_the_cli_keep_their_results_and_the_cli_is_audited(
        database_url: str, emulators: dict[str, Any]) -> None:
    """The scheduled run keeps one result per provider as ``daily``, ``gateway reconcile`` one as
    ``cli`` (newest first), a kept result reads back as its report, and the CLI's compare of
    each provider is in the audit trail with the host user."""
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
                             zf_base_url=emulators["zf_url"] + "/partner")
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with build_adapters(settings) as adapters:
            providers = sorted(p.value for p in reconcilable(adapters))
            daily = await reconcile(sessions, adapters, reconcilable(adapters))
        outcomes = await run_reconcile(settings, None, repair_drift=False)
        assert sorted(outcomes) == providers and all(o.error is None for o in outcomes.values())
        async with sessions() as session:
            runs = await recent_runs(session)
            entries = list(await session.exec(select(AuditRow)))
        assert [r.source for r in runs] == ["cli"] * len(providers) + ["daily"] * len(providers)
        assert sorted(r.provider for r in runs[len(providers):]) == providers
        kept = report_of(runs[-1])
        original = next(report for report, _ in daily if report.provider == kept.provider)
        assert (kept.checked, kept.held, kept.items, kept.counts()) == (
            original.checked, original.held, original.items, original.counts())
        assert sorted((e.action, e.target, e.actor_id, e.via, e.result) for e in entries) == [
            ("drift.compare", f"provider:{p}", getpass.getuser(), "cli", "ok") for p in providers]
    finally:
        await engine.dispose()
