"""An update that finds its Zählerfreunde object gone creates it anew only for a live record
that has no delete queued (``Operation.recreate_if_gone``); otherwise it leaves it gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.core.domain import Address, Device, DeviceKind, Medium, Site, SiteKind, SpaceCategory, TaskAction
from providers.base import Operation
from providers.emulation import serve_in_thread
from providers.factory import ZaehlerfreundeConfig, build_zaehlerfreunde
from providers.zaehlerfreunde.adapter import ZaehlerfreundeAdapter
from providers.zaehlerfreunde.emulator.app import create_app

SITE = Site(id="s1", customer_id="c", external_ref="s1", name="Home", kind=SiteKind.RESIDENTIAL,
            category=SpaceCategory.HOUSEHOLD,
            address=Address(line1="Storgata 1", postcode="0155", city="Oslo", country="NO"))
METER = Device(id="8c5e1f9a-0000-4000-8000-000000000001", customer_id="c", external_ref="m",
               kind=DeviceKind.METER, name="Meter", site_id="s1", medium=Medium.ELECTRICITY)


@pytest.fixture
async def zf() -> AsyncIterator[tuple[ZaehlerfreundeAdapter, Any]]:
    app = create_app()
    with serve_in_thread(app) as url:
        adapter = build_zaehlerfreunde(ZaehlerfreundeConfig(
            base_url=url + "/partner", client_id="zf-emulator", client_secret="zf-emulator-secret"))
        try:
            yield adapter, app.state.zaehlerfreunde
        finally:
            await adapter.aclose()


async def _gone_space(adapter: ZaehlerfreundeAdapter, state: Any) -> str:
    """The id of a space the site had, deleted upstream behind the gateway's back."""
    made = await adapter.apply(Operation(task_id="t1", action=TaskAction.UPSERT, entity=SITE))
    assert made.external_id is not None
    state.delete_space(made.external_id)
    return made.external_id


async def test_update_of_a_live_site_creates_a_gone_space_anew(zf: tuple[ZaehlerfreundeAdapter, Any]) -> None:
    """A live site whose space vanished upstream gets a new space (PUT 404, then POST)."""
    adapter, state = zf
    gone = await _gone_space(adapter, state)
    outcome = await adapter.apply(Operation(task_id="t2", action=TaskAction.UPSERT, entity=SITE,
                                            external_id=gone))
    assert outcome.external_id not in (None, gone)
    assert list(state.spaces) == [outcome.external_id]


async def test_update_of_a_deleting_site_leaves_a_gone_space_gone(
        zf: tuple[ZaehlerfreundeAdapter, Any]) -> None:
    """A site deleted or with a delete queued: the PUT's 404 creates nothing, the id is kept."""
    adapter, state = zf
    gone = await _gone_space(adapter, state)
    outcome = await adapter.apply(Operation(task_id="t2", action=TaskAction.UPSERT, entity=SITE,
                                            external_id=gone, recreate_if_gone=False))
    assert outcome.external_id == gone
    assert outcome.note is not None and "not created again" in outcome.note
    assert state.spaces == {}


async def test_update_of_a_deleting_device_leaves_a_gone_device_gone(
        zf: tuple[ZaehlerfreundeAdapter, Any]) -> None:
    """A device with a delete queued whose upstream device vanished is not created again; a live
    one is."""
    adapter, state = zf
    space = await adapter.apply(Operation(task_id="t1", action=TaskAction.UPSERT, entity=SITE))
    made = await adapter.apply(Operation(task_id="t2", action=TaskAction.UPSERT, entity=METER,
                                         parent_external_id=space.external_id))
    assert made.external_id is not None
    state.delete_device(made.external_id)
    left = await adapter.apply(Operation(task_id="t3", action=TaskAction.UPSERT, entity=METER,
                                         parent_external_id=space.external_id,
                                         external_id=made.external_id, recreate_if_gone=False))
    assert (left.external_id, state.devices) == (made.external_id, {})
    anew = await adapter.apply(Operation(task_id="t4", action=TaskAction.UPSERT, entity=METER,
                                         parent_external_id=space.external_id,
                                         external_id=made.external_id))
    assert anew.external_id not in (None, made.external_id)
    assert list(state.devices) == [anew.external_id]
