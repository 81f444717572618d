"""Drift results kept: each comparison's time, source (``console``, ``cli``, ``daily``) and findings.

The Drift page lists them, newest first, and shows what a kept run found; the newest run of
a provider is what a repair is asked about before it is queued.
"""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.reconcile.report import DriftItem, DriftReport
from gateway.store.ops_tables import DRIFT_ITEMS_KEPT, DriftRunRow

SOURCES = ("console", "cli", "daily")


async def keep_run(sessions: async_sessionmaker[AsyncSession], report: DriftReport,
                   source: str) -> DriftRunRow:
    """Store what a comparison found (at most :data:`DRIFT_ITEMS_KEPT` of its items)."""
    row = DriftRunRow(provider=report.provider, source=source, checked_at=report.checked_at,
                      checked=report.checked, held=report.held, skipped=report.skipped,
                      counts=report.counts(),
                      items=msgspec.to_builtins(report.items[:DRIFT_ITEMS_KEPT]))
    async with sessions() as session:
        session.add(row)
        await session.commit()
        await session.refresh(row)
    return row


async def recent_runs(session: AsyncSession, *, provider: str | None = None,
                      limit: int = 20) -> list[DriftRunRow]:
    query = select(DriftRunRow)
    if provider:
        query = query.where(col(DriftRunRow.provider) == provider)
    return list(await session.exec(query.order_by(col(DriftRunRow.id).desc()).limit(limit)))


def report_of(row: DriftRunRow) -> DriftReport:
    """A kept run as the report it was (its kept items)."""
    return DriftReport(provider=row.provider, checked_at=row.checked_at, checked=row.checked, held=row.held,
                       skipped=row.skipped, items=msgspec.convert(row.items, list[DriftItem]))
