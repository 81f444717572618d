"""Retried Zählerfreunde creates adopt what an earlier try made, never another record's object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.core.domain import Address, Site, SiteKind, SpaceCategory, TaskAction
from providers.base import Operation
from providers.emulation import serve_in_thread
from providers.factory import ZaehlerfreundeConfig, build_zaehlerfreunde
from providers.zaehlerfreunde.adapter import ZaehlerfreundeAdapter
from providers.zaehlerfreunde.emulator.app import create_app


def _site(site_id: str) -> Site:
    return Site(id=site_id, customer_id="c", external_ref=site_id, name="Home",
                kind=SiteKind.RESIDENTIAL, category=SpaceCategory.HOUSEHOLD,
                address=Address(line1="Storgata 1", postcode="0155", city="Oslo", country="NO"))


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


async def test_retry_adopts_the_space_an_earlier_try_created(
    zf: tuple[ZaehlerfreundeAdapter, Any],
) -> None:
    """A retried create finds the identical space its lost first try made and keeps its id."""
    adapter, state = zf
    first = await adapter.apply(Operation(task_id="t1", action=TaskAction.UPSERT, entity=_site("s1")))
    again = await adapter.apply(Operation(task_id="t1", action=TaskAction.UPSERT, entity=_site("s1"),
                                          attempt=1))
    assert again.external_id == first.external_id
    assert len(state.spaces) == 1


async def test_retry_never_adopts_a_space_linked_to_another_site(
    zf: tuple[ZaehlerfreundeAdapter, Any],
) -> None:
    """An identical space that already belongs to another site is not adopted; a new one is made."""
    adapter, state = zf
    other = await adapter.apply(Operation(task_id="t1", action=TaskAction.UPSERT, entity=_site("s1")))
    mine = await adapter.apply(Operation(
        task_id="t2", action=TaskAction.UPSERT, entity=_site("s2"), attempt=1,
        taken_external_ids=frozenset({other.external_id or ""})))
    assert mine.external_id != other.external_id
    assert len(state.spaces) == 2


async def test_device_update_reaches_the_device_details(
    zf: tuple[ZaehlerfreundeAdapter, Any],
) -> None:
    """A device PATCH (name, serial number) changes the upstream device through its details route."""
    from gateway.core.domain import Device, DeviceKind, Medium

    adapter, state = zf
    space = await adapter.apply(Operation(task_id="t1", action=TaskAction.UPSERT, entity=_site("s1")))
    meter = Device(id="8c5e1f9a-0000-4000-8000-000000000001", customer_id="c", external_ref="m",
                   kind=DeviceKind.METER, name="Meter", site_id="s1", medium=Medium.ELECTRICITY,
                   meter_number="A1")
    created = await adapter.apply(Operation(task_id="t2", action=TaskAction.UPSERT, entity=meter,
                                            parent_external_id=space.external_id))
    renamed = Device(**{**{f: getattr(meter, f) for f in meter.__struct_fields__},
                        "name": "Main meter", "meter_number": "B2"})
    updated = await adapter.apply(Operation(
        task_id="t3", action=TaskAction.UPSERT, entity=renamed,
        parent_external_id=space.external_id, external_id=created.external_id))
    assert updated.external_id == created.external_id
    body = state.devices[created.external_id].body
    assert (body.deviceName, body.serialNumber) == ("Main meter", "B2")
