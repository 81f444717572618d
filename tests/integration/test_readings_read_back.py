"""The delivery check against the Zählerfreunde emulator when its answers carry text labels and stamp
each period with its end: nothing is taken for missing, nothing is sent again; a lost reading still is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.bootstrap import build_adapters
from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.readings.verification import verify_delivery
from gateway.store.db import create_engine, session_factory
from providers.emulation import AnswerMode
from providers.zaehlerfreunde.emulator.readings import iso
from providers.zaehlerfreunde.mapping import epoch_of
from providers.zaehlerfreunde.schemas import DeviceReading
from tests.conftest import ADMIN_KEY
from tests.integration.test_energy_usage import DAY0, _site_with_meter
from tests.integration.test_readings_delivery import wait_delivered


@pytest.fixture
async def zf_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=2.0, energy_derive_interval_s=0,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def test_text_labels_and_period_end_stamps_find_nothing_missing(
        zf_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """Answers whose label is text and whose timeStamp ends the period verify every reading (0 missing,
    0 re-sent); a reading lost upstream is still found and sent again."""
    client = zf_client
    _, meter_id = await _site_with_meter(client)
    items = [{"deviceId": meter_id, "obisCode": "1-0:1.8.0", "timestamp": DAY0 + n * 900, "value": 10.0 + n}
             for n in range(12)]
    items += [{"deviceId": meter_id, "obisCode": "1-0:2.8.0", "timestamp": DAY0 + n * 900, "value": 5.0}
              for n in range(12)]
    await client.post("/v1/readings", json={"readings": items})
    await wait_delivered(client, [meter_id], len(items))

    settings = load_settings({}, database_url=database_url,
                             volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
                             zf_base_url=emulators["zf_url"] + "/partner")
    adapters = build_adapters(settings)
    zf = adapters.readings_source(Provider.ZAEHLERFREUNDE).client  # type: ignore[attr-defined]
    plain = zf.device_readings

    async def as_a_stingy_provider(*args: Any, **kwargs: Any) -> list[DeviceReading]:
        """The emulator's answer with a text label and each period stamped with its end."""
        return [msgspec.structs.replace(item, label="Zählerstand Haushalt",
                                        timeStamp=iso(epoch_of(item.timeStamp) + 900))
                for item in await plain(*args, **kwargs)]

    zf.device_readings = as_a_stingy_provider
    engine = create_engine(database_url)
    try:
        result = await verify_delivery(session_factory(engine), adapters, sample=5)
        assert (result.meters, result.verified, result.missing, result.resent) == (1, 24, 0, 0)
        assert result.convention == "timeStamp ends the period [t - 15 min, t)"
        state = emulators["zf"].state.zaehlerfreunde
        (device,) = [d for d in state.devices.values() if d.body.externalDeviceId == meter_id]
        del device.readings[sorted(device.readings)[-1]]
        again = await verify_delivery(session_factory(engine), adapters, sample=5)
        assert (again.verified, again.missing, again.resent) == (23, 1, 1)
        assert len(device.readings) == len(items)
    finally:
        await adapters.aclose()
        await engine.dispose()


async def test_the_emulators_minimal_answers_verify_with_nothing_missing(
        zf_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """With Zählerfreunde's minimal answers (text labels) a check finds 0 missing and re-sends 0."""
    client = zf_client
    _, meter_id = await _site_with_meter(client)
    items = [{"deviceId": meter_id, "obisCode": code, "timestamp": DAY0 + n * 300, "value": value + n}
             for n in range(24) for code, value in (("1-1:1.8.0", 100.0), ("1-1:2.8.0", 7.0))]
    items += [{"deviceId": meter_id, "obisCode": "1-1:1.29.0", "timestamp": DAY0 + n * 900, "value": 0.25}
              for n in range(1, 9)]
    await client.post("/v1/readings", json={"readings": items})
    await wait_delivered(client, [meter_id], len(items))
    emulation = emulators["zf"].state.emulation
    settings = load_settings({}, database_url=database_url,
                             volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
                             zf_base_url=emulators["zf_url"] + "/partner")
    adapters = build_adapters(settings)
    engine = create_engine(database_url)
    emulation.answers = AnswerMode(minimal=True)
    try:
        source = adapters.readings_source(Provider.ZAEHLERFREUNDE)
        held = await source.stored_readings(_zf_device(emulators, meter_id), DAY0, DAY0 + 7200)
        assert held and all(r.label and not r.label[0].isdigit() for r in held)  # text, not OBIS codes
        result = await verify_delivery(session_factory(engine), adapters, sample=5)
        assert (result.meters, result.verified, result.missing, result.resent) == (1, len(items), 0, 0)
    finally:
        emulation.answers = AnswerMode()
        await adapters.aclose()
        await engine.dispose()


def _zf_device(emulators: dict[str, Any], meter_id: str) -> str:
    state = emulators["zf"].state.zaehlerfreunde
    return next(key for key, d in state.devices.items() if d.body.externalDeviceId == meter_id)
