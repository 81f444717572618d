"""Token handling against both emulators: single flight, renewal before expiry, revocation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from authlib.oauth2.rfc6749 import wrappers as oauth2_wrappers

from gateway.core.domain import (
    Address,
    Coordinates,
    Customer,
    Provider,
    Site,
    SiteKind,
    SpaceCategory,
    TaskAction,
)
from providers import factory
from providers.base import Operation, Outcome, ProviderAdapter
from providers.emulation import Emulation, TokenStore, serve_in_thread
from providers.factory import VolueConfig, ZaehlerfreundeConfig, build_volue, build_zaehlerfreunde
from providers.volue.emulator import app as volue_emulator
from providers.zaehlerfreunde.emulator import app as zf_emulator
from providers.zaehlerfreunde.tokens import JsonTokenProvider

CONCURRENCY = 50


def _customer() -> Customer:
    cid = str(uuid.uuid4())
    return Customer(
        id=cid,
        external_ref=cid,
        name="Kari",
        email=f"{cid[:8]}@example.com",
        providers=(Provider.VOLUE, Provider.ZAEHLERFREUNDE),
    )


def _site() -> Site:
    sid = str(uuid.uuid4())
    return Site(
        id=sid,
        customer_id=str(uuid.uuid4()),
        external_ref=sid,
        name=f"Home {sid[:8]}",
        kind=SiteKind.RESIDENTIAL,
        category=SpaceCategory.HOUSEHOLD,
        address=Address(line1="Hauptstraße 1", postcode="10115", city="Berlin", country="DE"),
        coordinates=Coordinates(latitude=52.52, longitude=13.405),
    )


def _upsert(entity: Customer | Site) -> Operation:
    return Operation(task_id=str(uuid.uuid4()), action=TaskAction.UPSERT, entity=entity)


def _volue(url: str, **options: Any) -> ProviderAdapter:
    return build_volue(
        VolueConfig(
            base_url=url + "/energy-coordination/v1",
            token_url=url + volue_emulator.TOKEN_PATH,
            client_id="volue-emulator",
            client_secret="volue-emulator-secret",
            **options,
        )
    )


def _zaehlerfreunde(url: str, **options: Any) -> ProviderAdapter:
    return build_zaehlerfreunde(
        ZaehlerfreundeConfig(
            base_url=url + "/partner",
            client_id="zf-emulator",
            client_secret="zf-emulator-secret",
            **options,
        )
    )


def _entity_for(provider: Provider) -> Customer | Site:
    return _customer() if provider is Provider.VOLUE else _site()


def _unauthorized(emulation: Emulation) -> int:
    return sum(by.get(401, 0) for by in emulation.stats.requests.values())


@pytest.fixture
def volue_url_and_emulation(request: pytest.FixtureRequest) -> Iterator[tuple[str, Emulation]]:
    ttl = getattr(request, "param", 1800.0)
    app = volue_emulator.create_app(token_ttl_s=ttl)
    with serve_in_thread(app) as url:
        yield url, app.state.emulation


@pytest.fixture(params=[Provider.VOLUE, Provider.ZAEHLERFREUNDE], ids=str)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Provider, str, Emulation]]:
    provider: Provider = request.param
    app: Any = volue_emulator.create_app() if provider is Provider.VOLUE else zf_emulator.create_app()
    with serve_in_thread(app) as url:
        yield provider, url, app.state.emulation


def _build(provider: Provider, url: str) -> ProviderAdapter:
    return _volue(url) if provider is Provider.VOLUE else _zaehlerfreunde(url)


async def _burst(adapter: ProviderAdapter, provider: Provider) -> list[Outcome]:
    ops = [_upsert(_entity_for(provider)) for _ in range(CONCURRENCY)]
    return list(await asyncio.gather(*(adapter.apply(op) for op in ops)))


async def test_one_token_fetch_under_concurrent_requests(
    served: tuple[Provider, str, Emulation],
) -> None:
    """Fifty concurrent first requests share a single token fetch."""
    provider, url, emulation = served
    adapter = _build(provider, url)
    try:
        outcomes = await _burst(adapter, provider)
    finally:
        await adapter.aclose()
    assert len({o.external_id for o in outcomes}) == CONCURRENCY
    assert emulation.stats.token_fetches == 1


async def test_revocation_fetches_one_new_token(
    served: tuple[Provider, str, Emulation],
) -> None:
    """After every token is revoked, fifty concurrent requests cause one refetch and succeed."""
    provider, url, emulation = served
    adapter = _build(provider, url)
    try:
        await adapter.apply(_upsert(_entity_for(provider)))
        emulation.tokens.revoke_all()
        outcomes = await _burst(adapter, provider)
    finally:
        await adapter.aclose()
    assert all(o.external_id for o in outcomes)
    assert emulation.stats.token_fetches == 2
    assert 1 <= _unauthorized(emulation) <= CONCURRENCY


class FakeClock:
    """A clock that moves only when told, standing in for both the client's and the emulator's."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("volue_url_and_emulation", [6.0], indirect=True)
async def test_volue_renews_before_expiry(
    volue_url_and_emulation: tuple[str, Emulation], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 6 s token with 3 s leeway is kept at 2.9 s and fetched anew at 3.1 s, once, before any 401.

    One clock stands in for authlib's (``expires_at`` in whole seconds, hence a whole-second
    start) and the emulator's, which accepts the old token until 6 s.
    """
    url, emulation = volue_url_and_emulation
    clock = FakeClock(1_800_000_000.0)
    monkeypatch.setattr(oauth2_wrappers, "time", SimpleNamespace(time=clock))
    emulation.tokens = TokenStore(ttl_s=6.0, clock=clock)
    adapter = _volue(url, token_leeway_s=3.0)
    try:
        await adapter.apply(_upsert(_customer()))
        clock.now += 0.5
        await adapter.apply(_upsert(_customer()))
        clock.now += 2.4
        await adapter.apply(_upsert(_customer()))
        assert emulation.stats.token_fetches == 1
        clock.now += 0.2
        await _burst(adapter, Provider.VOLUE)
    finally:
        await adapter.aclose()
    assert emulation.stats.token_fetches == 2
    assert _unauthorized(emulation) == 0


async def test_zaehlerfreunde_renews_after_age(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Zählerfreunde token older than the refresh age is replaced before it is used, not before."""
    clock = FakeClock(1000.0)
    monkeypatch.setattr(factory, "JsonTokenProvider", partial(JsonTokenProvider, clock=clock))
    app = zf_emulator.create_app()
    with serve_in_thread(app) as url:
        adapter = _zaehlerfreunde(url, token_refresh_age_s=0.5)
        try:
            await adapter.apply(_upsert(_site()))
            clock.now += 0.4
            await adapter.apply(_upsert(_site()))
            assert app.state.emulation.stats.token_fetches == 1
            clock.now += 0.2
            await _burst(adapter, Provider.ZAEHLERFREUNDE)
        finally:
            await adapter.aclose()
        assert app.state.emulation.stats.token_fetches == 2
        assert _unauthorized(app.state.emulation) == 0
