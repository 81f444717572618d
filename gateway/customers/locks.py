"""Locks of a customer's tree and of provider links, taken before a write changes them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.errors import NotFoundError
from gateway.customers.reads import get_device, get_site
from gateway.store.db import among, on_postgres
from gateway.store.tables import CustomerRow, DeviceRow, ProviderLinkRow, SiteRow, table_of

_Tree = TypeVar("_Tree", CustomerRow, SiteRow, DeviceRow)


# Every write that depends on a customer's tree (creating, changing or deleting a site, device
# or vehicle, changing or deleting the customer, a resync) first locks the customer's row, then
# the site's, then the device's: one order, so writes of one tree serialise and never deadlock
# among themselves. The records are read again after the lock, so a write that waited for a
# delete sees it (404) and queues nothing. On PostgreSQL the lock is ``SELECT ... FOR UPDATE``;
# SQLite has no row locks, so a no-op update takes the database's write lock (held until the
# transaction ends) and the reads after it see the latest state.


async def _locked(session: AsyncSession, model: type[_Tree], entity_id: str) -> _Tree | None:
    """The row of ``model`` with ``entity_id`` read again under a lock (None when there is none)."""
    table = table_of(model)
    query = select(model).where(col(model.id) == entity_id)
    if on_postgres(session):
        query = query.with_for_update()
    else:
        await session.execute(
            update(table).where(table.c.id == entity_id).values(updated_at=table.c.updated_at))
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def lock_customer(session: AsyncSession, customer_id: str) -> CustomerRow:
    """The live customer, locked until the transaction ends (404 when missing or deleted)."""
    row = await _locked(session, CustomerRow, customer_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"customer {customer_id} not found")
    return row


async def lock_site(session: AsyncSession, site_id: str) -> tuple[CustomerRow, SiteRow]:
    """The live site and its customer, both locked (customer first); 404 when either is gone."""
    found = await get_site(session, site_id)
    customer = await lock_customer(session, found.customer_id)
    row = await _locked(session, SiteRow, site_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"site {site_id} not found")
    return customer, row


async def lock_device(session: AsyncSession, device_id: str) -> tuple[CustomerRow, DeviceRow]:
    """The live device and its customer, both locked (customer first, then the device's site,
    then the device); 404 when any of them is gone."""
    found = await get_device(session, device_id)
    customer = await lock_customer(session, found.customer_id)
    if found.site_id is not None:
        site = await _locked(session, SiteRow, found.site_id)
        if site is None or site.deleted_at is not None:
            raise NotFoundError(f"device {device_id} not found")
    row = await _locked(session, DeviceRow, device_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"device {device_id} not found")
    return customer, row


LINK_LOCK_PATIENCE_S = 10.0
"""How long a write tries for its links without waiting on a lock (then it waits)."""


async def lock_links(session: AsyncSession, entity_ids: Iterable[str]) -> None:
    """Lock the provider links of these records (PostgreSQL) before the write changes any.

    A worker's round writes the links of its tasks in one statement; a write that changed
    one link and then waited for another the round holds would deadlock with it. So the
    links are taken all at once with ``NOWAIT`` in a savepoint, which gives back the ones it
    got when another is held, and tried again shortly after the round committed: the write
    never waits for a link while it holds one. (SQLite's write lock serialises anyway.)
    """
    wanted = sorted(set(entity_ids))
    if not wanted or not on_postgres(session):
        return
    links = table_of(ProviderLinkRow)
    query = (select(links.c.entity_id).where(among(links.c.entity_id, wanted, postgres=True))
             .order_by(links.c.entity_id, links.c.provider).with_for_update(nowait=True))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINK_LOCK_PATIENCE_S
    pause = 0.005
    while loop.time() < deadline:
        try:
            async with session.begin_nested():
                await session.execute(query)
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)
    await session.execute(query.with_for_update())


LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a ``NOWAIT`` lock that another transaction holds."""
