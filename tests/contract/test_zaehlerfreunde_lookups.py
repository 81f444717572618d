"""Zählerfreunde lookups after lost answers scale: an incremental space index, per-page retries.

Most tests run the adapter against the emulator over real HTTP (``running``, every request
checked against the OpenAPI document); the ones that fail chosen pages put a transport in
front of the emulator served over httpx's ASGI transport. Listing pages are counted in the
emulator's own stats.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from gateway.core.domain import EntityType, Provider, Site
from providers.base import Outcome, ProviderError, TransientError
from providers.emulation import FaultPlan
from providers.factory import ZaehlerfreundeConfig, build_zaehlerfreunde
from providers.zaehlerfreunde import mapping as m
from providers.zaehlerfreunde.adapter import ZaehlerfreundeAdapter
from providers.zaehlerfreunde.emulator.app import create_app
from providers.zaehlerfreunde.emulator.state import ZaehlerfreundeState
from providers.zaehlerfreunde.schemas import NewSpace
from tests.contract.test_adapters import delete, make_charger, make_customer, make_site, running, upsert

SPACES = "GET /partner/spaces"
DEVICES = "GET /partner/spaces/{spaceId}/devices"


def _fill(state: ZaehlerfreundeState, count: int) -> None:
    """``count`` spaces of other customers in the account."""
    for i in range(count):
        state.create_space(NewSpace(name=f"Neighbour {i}", addressLineOne=f"Weg {i}", postcode="10115",
                                    city="Berlin", category="SINGLE_FAMILY_HOME"))


def _made(state: ZaehlerfreundeState, site: Site) -> str:
    """The space a create of ``site`` made at the provider although its answer was lost."""
    return state.create_space(m.new_space(site, parent_space_id=None)).id


def _gets(stats: Any, route: str = SPACES) -> int:
    return sum(stats.requests[route].values())


@dataclass
class Sleeps:
    """Records each wait a page asks for instead of waiting; ``then`` runs on each."""

    delays: list[float] = field(default_factory=list)
    then: Callable[[], None] = lambda: None

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.then()


async def _sync(adapter: ZaehlerfreundeAdapter, sites: list[Site], *, rounds: int,
                maybe_sent: bool = False, name: str = "round") -> dict[str, str]:
    """Apply every site's create round after round as the engine does, until each has its space.

    A transient failure is retried in the next round with ``attempt`` raised and ``maybe_sent``
    kept; spaces already linked to other sites are ``taken_external_ids``.
    """
    linked: dict[str, str] = {}
    state = {site.id: (0, maybe_sent) for site in sites}
    for number in range(rounds):
        pending = [site for site in sites if site.id not in linked]
        if not pending:
            break
        taken = frozenset(linked.values())
        ops = [upsert(site, attempt=state[site.id][0], maybe_sent=state[site.id][1],
                      taken_external_ids=taken, round_id=f"{name}-{number}") for site in pending]
        for site, result in zip(pending, await adapter.apply_batch(ops), strict=True):
            if isinstance(result, Outcome):
                assert result.external_id is not None
                linked[site.id] = result.external_id
            else:
                assert isinstance(result, TransientError), result
                attempt, sent = state[site.id]
                state[site.id] = (attempt + 1, sent or result.maybe_sent)
    return linked


# --- the index --------------------------------------------------------------------------------


async def test_unclear_creates_read_a_bounded_number_of_pages_not_the_listing_each() -> None:
    """With 350 spaces, 30 unclear creates in 3 rounds read the listing once plus a page or two a round."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        _fill(state, 350)
        customer = make_customer()
        sites = [make_site(customer) for _ in range(30)]
        made = {site.id: _made(state, site) for site in sites[::2]}  # half the lost answers made a space
        h.emulation.stats.reset()
        linked: dict[str, str] = {}
        for wave in range(3):
            batch = sites[wave * 10:(wave + 1) * 10]
            linked |= await _sync(h.adapter, batch, rounds=1, maybe_sent=True, name=f"wave-{wave}")
        assert len(linked) == 30
        assert all(linked[site_id] == space_id for site_id, space_id in made.items())
        assert h.count(EntityType.SITE) == 350 + 30
        assert h.emulation.stats.duplicates.get("space", 0) == 0
        # one full read, then a page or two per round; a listing per round would be 3 x 4 pages
        pages = -(-380 // 100)
        assert _gets(h.emulation.stats) <= pages + 3 * 2, h.emulation.stats.requests[SPACES]


async def test_lost_answers_under_faults_leave_no_duplicate_space() -> None:
    """Creates whose answers are lost half the time end with one space per site at the emulator."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        _fill(state, 150)
        h.adapter.client.sleep = Sleeps()
        customer = make_customer()
        sites = [make_site(customer) for _ in range(24)]
        h.emulation.set_faults(FaultPlan(lost_rate=0.5, seed=11, paths=["/partner/spaces"]))
        linked = await _sync(h.adapter, sites, rounds=20)
        h.emulation.set_faults(FaultPlan())
        assert len(linked) == 24
        assert len(set(linked.values())) == 24
        assert h.emulation.stats.unanswered.get("POST /partner/spaces", 0) > 0
        assert h.count(EntityType.SITE) == 150 + 24
        assert h.emulation.stats.duplicates.get("space", 0) == 0
        contents = {state.spaces[space_id].content() for space_id in linked.values()}
        assert contents == {m.space_key(m.new_space(site, parent_space_id=None)) for site in sites}


async def test_deletes_elsewhere_move_spaces_up_and_the_look_steps_back() -> None:
    """After others delete 60 of 250 spaces, a look steps back a page and still finds a new space."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        _fill(state, 250)
        customer = make_customer()
        first, second = make_site(customer), make_site(customer)
        await h.adapter.apply(upsert(first, maybe_sent=True, round_id="r1"))
        for space_id in list(state.spaces)[:60]:
            state.delete_space(space_id)
        made = _made(state, second)
        h.emulation.stats.reset()
        adopted = await h.adapter.apply(upsert(second, maybe_sent=True, round_id="r2"))
        assert adopted.external_id == made
        assert h.count(EntityType.SITE) == 250 - 60 + 2
        assert _gets(h.emulation.stats) == 2  # page 2 (now empty), then page 1 from its anchor


async def test_an_adopted_space_deleted_meanwhile_leads_to_a_fresh_look_not_a_duplicate() -> None:
    """A space known to the index but deleted upstream answers the adoption PUT 404; the look reads again."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        customer = make_customer()
        site = make_site(customer)
        stale = _made(state, site)
        await h.adapter.apply(upsert(make_site(customer), maybe_sent=True, round_id="r1"))
        assert stale in h.adapter.spaces
        state.delete_space(stale)
        again = _made(state, site)  # another lost create of the same site made a second one
        adopted = await h.adapter.apply(upsert(site, maybe_sent=True, round_id="r2"))
        assert adopted.external_id == again
        assert stale not in h.adapter.spaces
        assert h.count(EntityType.SITE) == 2
        assert h.emulation.stats.requests["PUT /partner/spaces/{spaceId}"] == {404: 1, 200: 1}


async def test_a_space_created_in_a_round_is_not_adopted_by_another_site_of_that_round() -> None:
    """An identical site's unclear create in the same round gets a space of its own, not the one just made."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        customer = make_customer()
        site = make_site(customer)
        twin = make_site(customer, name=site.name)
        created = await h.adapter.apply(upsert(site, round_id="r1"))
        assert created.external_id in h.adapter.spaces
        other = await h.adapter.apply(upsert(twin, maybe_sent=True, round_id="r1"))
        assert other.external_id != created.external_id
        assert h.count(EntityType.SITE) == 2


async def test_a_deleted_space_leaves_the_index() -> None:
    """Our own delete removes the space from the index, so no later look adopts it."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        customer = make_customer()
        site = make_site(customer)
        created = await h.adapter.apply(upsert(site, round_id="r1"))
        assert created.external_id is not None
        await h.adapter.apply(delete(site, external_id=created.external_id))
        assert created.external_id not in h.adapter.spaces
        again = await h.adapter.apply(upsert(site, maybe_sent=True, round_id="r2"))
        assert again.external_id != created.external_id
        assert h.count(EntityType.SITE) == 1


async def test_the_emulator_lists_spaces_in_creation_order() -> None:
    """The index's premise: listed by creation; an update keeps a space's place; a delete closes the gap."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        _fill(state, 5)
        ids = list(state.spaces)
        await h.adapter.client.update_space(ids[1], m.update_space(make_site(make_customer()),
                                                                   parent_space_id=None))
        await h.adapter.client.delete_space(ids[2])
        _fill(state, 1)
        listed = [space.id async for space in h.adapter.client.spaces()]
        assert listed == [*ids[:2], *ids[3:], list(state.spaces)[-1]]


# --- per-page retries -------------------------------------------------------------------------


async def test_a_page_answered_429_is_tried_again_after_its_retry_after() -> None:
    """A listing page refused once with 429, Retry-After: 7 is tried again after 7 s; the look succeeds."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        _fill(state, 120)
        site = make_site(make_customer())
        made = _made(state, site)
        h.adapter.client.sleep = sleeps = Sleeps(then=lambda: h.emulation.set_faults(FaultPlan()))
        h.emulation.set_faults(FaultPlan(rate_limit_rate=1.0, retry_after_s=7, paths=["/partner/spaces"]))
        adopted = await h.adapter.apply(upsert(site, maybe_sent=True, round_id="r1"))
        assert adopted.external_id == made
        assert sleeps.delays == [7.0]
        assert h.emulation.stats.requests[SPACES] == {429: 1, 200: 2}


async def test_a_look_succeeds_under_steady_5xx_on_the_listing() -> None:
    """With 20 % of listing pages failing 5xx, looks in five rounds find their space within page retries."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        state = h.app.state.zaehlerfreunde
        _fill(state, 400)
        h.adapter.client.sleep = Sleeps()
        h.emulation.set_faults(FaultPlan(error_rate=0.2, seed=3, paths=["/partner/spaces"]))
        customer = make_customer()
        for number in range(5):
            site = make_site(customer)
            made = _made(state, site)
            key = m.space_key(m.new_space(site, parent_space_id=None))
            found = await h.adapter.spaces.take(f"r{number}", key=key, usable=lambda _: True)
            assert found == made
        failed = sum(n for status, n in h.emulation.stats.requests[SPACES].items() if status >= 500)
        assert failed > 0


async def test_a_device_page_answered_429_is_tried_again() -> None:
    """A device listing refused once with 429 is tried again; the device a lost create made is adopted."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        site = make_site(make_customer())
        space = await h.adapter.apply(upsert(site))
        charger = make_charger(site)
        first = await h.adapter.apply(upsert(charger, parent_external_id=space.external_id))
        h.adapter.client.sleep = sleeps = Sleeps(then=lambda: h.emulation.set_faults(FaultPlan()))
        h.emulation.set_faults(FaultPlan(rate_limit_rate=1.0, retry_after_s=2, paths=["/partner/spaces"]))
        again = await h.adapter.apply(upsert(charger, parent_external_id=space.external_id, attempt=1,
                                             round_id="r1"))
        assert again.external_id == first.external_id
        assert sleeps.delays == [2.0]
        assert h.emulation.stats.requests[DEVICES] == {429: 1, 200: 1}
        assert h.count(EntityType.DEVICE) == 1


# --- chosen pages failing ---------------------------------------------------------------------


class FailingPages(httpx.AsyncBaseTransport):
    """Answers chosen ``GET /spaces`` pages with a fixed status instead of asking the emulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.failing: dict[int, list[tuple[int, dict[str, str]]]] = {}
        """Per page, the failures still to give (status, headers)."""
        self.always: dict[int, int] = {}
        """Per page, the status it is always answered with."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/partner/spaces":
            page = int(request.url.params.get("page", "0"))
            if page in self.always:
                return httpx.Response(self.always[page], json={"message": "injected"})
            queued = self.failing.get(page)
            if queued:
                status, headers = queued.pop(0)
                return httpx.Response(status, headers=headers, json={"message": "injected"})
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def asgi() -> AsyncIterator[tuple[ZaehlerfreundeAdapter, ZaehlerfreundeState, FailingPages, Sleeps]]:
    app = create_app()
    transport = FailingPages(httpx.ASGITransport(app=app))
    adapter = build_zaehlerfreunde(ZaehlerfreundeConfig(
        base_url="http://zf.test/partner", client_id="zf-emulator", client_secret="zf-emulator-secret"),
        transport=transport)
    adapter.client.sleep = sleeps = Sleeps()
    try:
        yield adapter, app.state.zaehlerfreunde, transport, sleeps
    finally:
        await adapter.aclose()


async def test_a_failed_page_fails_only_the_looks_that_still_need_it(
    asgi: tuple[ZaehlerfreundeAdapter, ZaehlerfreundeState, FailingPages, Sleeps],
) -> None:
    """Page 2 failing for good: a look answered by page 0 adopts; one needing page 2 fails, sends nothing."""
    adapter, state, transport, _ = asgi
    customer = make_customer()
    found, missing = make_site(customer), make_site(customer)
    made = _made(state, found)
    _fill(state, 249)
    transport.always[2] = 503
    results = await adapter.apply_batch([upsert(found, maybe_sent=True, round_id="r1"),
                                         upsert(missing, maybe_sent=True, round_id="r1")])
    assert isinstance(results[0], Outcome) and results[0].external_id == made
    error = results[1]
    assert isinstance(error, TransientError) and not error.maybe_sent, error
    assert len(state.spaces) == 250
    # what was read is kept: once the page answers, the look reads on from there
    del transport.always[2]
    adopted = await adapter.apply(upsert(missing, maybe_sent=True, attempt=1, round_id="r2"))
    assert adopted.external_id is not None and len(state.spaces) == 251
    assert adapter.spaces.pages_read == 2 + 2  # pages 0 and 1, then 1 again (its anchor) and 2


async def test_a_retry_after_date_is_waited_for(
    asgi: tuple[ZaehlerfreundeAdapter, ZaehlerfreundeState, FailingPages, Sleeps],
) -> None:
    """A 429 whose Retry-After is an HTTP date 30 s ahead waits about 30 s, then the page is read."""
    adapter, state, transport, sleeps = asgi
    adapter.client.page_wait_max_s = 60.0
    site = make_site(make_customer())
    made = _made(state, site)
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    transport.failing[0] = [(429, {"Retry-After": when})]
    adopted = await adapter.apply(upsert(site, maybe_sent=True, round_id="r1"))
    assert adopted.external_id == made
    assert len(sleeps.delays) == 1 and 27.0 <= sleeps.delays[0] <= 30.0


async def test_a_page_is_tried_four_times_then_fails_and_a_long_retry_after_is_not_waited_for(
    asgi: tuple[ZaehlerfreundeAdapter, ZaehlerfreundeState, FailingPages, Sleeps],
) -> None:
    """Four 503s fail the page after three capped waits; a Retry-After beyond the limit fails it at once."""
    adapter, _, transport, sleeps = asgi
    transport.failing[0] = [(429, {"Retry-After": "3600"})]
    with pytest.raises(TransientError) as limited:
        await adapter.spaces.take("r1", key=("x",), usable=lambda _: True)
    assert limited.value.retry_after == 3600.0
    assert sleeps.delays == []
    transport.always[0] = 503
    with pytest.raises(TransientError) as failed:
        await adapter.spaces.take("r2", key=("x",), usable=lambda _: True)
    assert not failed.value.maybe_sent
    assert len(sleeps.delays) == 3
    assert sleeps.delays == sorted(sleeps.delays)
    assert 0 < sleeps.delays[0] and sleeps.delays[-1] <= adapter.client.page_backoff_cap_s


async def test_after_a_page_failed_all_its_tries_the_next_page_gets_one_until_one_is_read(
    asgi: tuple[ZaehlerfreundeAdapter, ZaehlerfreundeState, FailingPages, Sleeps],
) -> None:
    """While the listing looks down, each look costs one request; a page read restores the retries."""
    adapter, _, transport, sleeps = asgi
    transport.always[0] = 502
    for round_id in ("r1", "r2", "r3"):
        with pytest.raises(ProviderError):
            await adapter.spaces.take(round_id, key=("x",), usable=lambda _: True)
    assert len(sleeps.delays) == 3  # only the first look waited between tries
    del transport.always[0]
    assert await adapter.spaces.take("r4", key=("x",), usable=lambda _: True) is None
    transport.failing[0] = [(503, {})]
    assert await adapter.spaces.take("r5", key=("x",), usable=lambda _: True) is None
    assert len(sleeps.delays) == 4
