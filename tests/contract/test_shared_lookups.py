"""Zählerfreunde lookups after a lost answer are shared by the tasks of one round."""

from __future__ import annotations

import asyncio

from gateway.core.domain import EntityType, Provider
from providers.zaehlerfreunde import mapping as m
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


async def test_a_later_round_reads_only_what_the_index_has_not_seen() -> None:
    """A later round finds a space made after the index was read, reading one page, not the listing."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        customer = make_customer()
        first, second = make_site(customer), make_site(customer)
        await h.adapter.apply(upsert(first, maybe_sent=True, round_id="r1"))
        state = h.app.state.zaehlerfreunde
        made = state.create_space(m.new_space(second, parent_space_id=None))  # its answer was lost
        adopted = await h.adapter.apply(upsert(second, maybe_sent=True, round_id="r2"))
        assert adopted.external_id == made.id
        assert h.count(EntityType.SITE) == 2
        assert sum(h.emulation.stats.requests[ROUTE].values()) == 2
