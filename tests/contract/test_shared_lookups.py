"""Zählerfreunde lookups after a lost answer are shared by the tasks of one round."""

from __future__ import annotations

import asyncio

from gateway.core.domain import EntityType, Provider
from tests.contract.test_adapters import make_customer, make_site, running, upsert

ROUTE = "GET /partner/spaces"


async def test_a_round_of_retried_space_creates_lists_spaces_once() -> None:
    """Twenty space creates of one round that may have been sent list the spaces once, not twenty times."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        customer = make_customer()
        sites = [make_site(customer) for _ in range(20)]
        earlier = [await h.adapter.apply(upsert(site)) for site in sites[:10]]
        outcomes = await asyncio.gather(*(h.adapter.apply(upsert(site, maybe_sent=True, round_id="r1"))
                                          for site in sites))
        assert [o.external_id for o in outcomes[:10]] == [o.external_id for o in earlier]
        assert h.count(EntityType.SITE) == 20
        assert sum(h.emulation.stats.requests[ROUTE].values()) == 1


async def test_each_round_lists_afresh() -> None:
    """A later round does not trust an earlier round's listing: it lists again."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        customer = make_customer()
        first, second = make_site(customer), make_site(customer)
        await h.adapter.apply(upsert(first, maybe_sent=True, round_id="r1"))
        created = await h.adapter.apply(upsert(second))
        adopted = await h.adapter.apply(upsert(second, maybe_sent=True, round_id="r2"))
        assert adopted.external_id == created.external_id
        assert sum(h.emulation.stats.requests[ROUTE].values()) == 2
