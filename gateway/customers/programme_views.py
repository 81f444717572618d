"""How a customer's programme membership and a site's compensation appear on their reads.

The rows are written by ``gateway.programmes``; the customer and site reads show them
(``programmes`` and ``compensation``), so these reads live with the customers' reads.
A customer at Volue without a membership row shows ``not_enrolled`` and an eligibility
not known yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import ProgrammeStatus, Provider
from gateway.customers import schemas as s
from gateway.store.db import chunked
from gateway.store.programme_tables import ProgrammeMembershipRow, SiteCompensationRow
from gateway.store.tables import table_of

PROGRAMME_PROVIDERS = (Provider.VOLUE.value,)
"""Providers whose programme the gateway follows."""

Executor = AsyncConnection | AsyncSession


def programme_read(row: Any) -> s.ProgrammeRead:
    """A ``programme_memberships`` row (ORM or core) as the customer read shows it."""
    return s.ProgrammeRead(
        status=ProgrammeStatus(row.status),
        enrolled_at=as_utc(row.enrolled_at),
        eligible=row.eligible,
        eligibility_checked_at=as_utc(row.eligibility_checked_at),
        last_error=row.last_error,
    )


def compensation_read(row: Any) -> s.SiteCompensationRead:
    """A ``site_compensations`` row as the site read shows it."""
    return s.SiteCompensationRead(
        period_from=row.period_from,
        period_to=row.period_to,
        active_amount=row.active_amount,
        blocked_amount=row.blocked_amount,
        currency=row.currency,
        problems=[s.CompensationProblemRead(kind=p.get("kind"), message=str(p.get("message", "")),
                                            field=p.get("field"))
                  for p in row.problems],
        checked_at=as_utc(row.checked_at) or row.checked_at,
        meter_point_ids=list(row.meter_point_ids or []),
    )


async def programmes_of(
    executor: Executor, customers: Iterable[tuple[str, Iterable[str]]]
) -> dict[str, dict[str, s.ProgrammeRead]]:
    """``programmes`` of each (customer id, its providers): one entry per programme provider
    the customer is at."""
    wanted = {cid: [p for p in providers if p in PROGRAMME_PROVIDERS] for cid, providers in customers}
    ids = [cid for cid, providers in wanted.items() if providers]
    table = table_of(ProgrammeMembershipRow)
    found: dict[tuple[str, str], Any] = {}
    for chunk in chunked(ids):
        result = await executor.execute(select(table).where(table.c.customer_id.in_(chunk)))
        for row in result:
            found[(row.customer_id, row.programme)] = row
    out: dict[str, dict[str, s.ProgrammeRead]] = {}
    for cid, providers in wanted.items():
        out[cid] = {
            p: programme_read(found[(cid, p)]) if (cid, p) in found
            else s.ProgrammeRead(status=ProgrammeStatus.NOT_ENROLLED)
            for p in providers
        }
    return out


async def compensation_of(
    executor: Executor, site_ids: Iterable[str]
) -> dict[str, dict[str, s.SiteCompensationRead]]:
    """``compensation`` of each site that has one fetched."""
    table = table_of(SiteCompensationRow)
    out: dict[str, dict[str, s.SiteCompensationRead]] = {}
    for chunk in chunked(list(site_ids)):
        result = await executor.execute(select(table).where(table.c.site_id.in_(chunk)))
        for row in result:
            out[row.site_id] = {Provider.VOLUE.value: compensation_read(row)}
    return out
