"""``gateway check`` names a provider reset with its repair, fails on dead tasks and on a missing
secrets key where one cannot be kept beside the database."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from rich.console import Console
from sqlalchemy import update
from sqlmodel import col

from gateway.cli import _warn_if_reset
from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.ops.check import Backlog, dead_tasks_check, render, run_checks, secrets_key_check
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import wait_synced

SITE = {"externalRef": "chk-s-1", "name": "Hjem", "kind": "residential",
        "address": {"line1": "Vei 1", "postcode": "0155", "city": "Oslo", "country": "NO"},
        "coordinates": {"latitude": 59.9, "longitude": 10.7},
        "devices": [{"externalRef": "chk-m-1", "kind": "meter", "name": "Meter", "medium": "electricity",
                     "isMain": True, "meterPointId": "707057500099887766"}]}


def _text(report: Any) -> str:
    console = Console(record=True, width=300)
    render(report, console)
    return console.export_text()


async def test_a_reset_provider_is_named_with_its_repair(live_client: AsyncTestClient, database_url: str,
                                                         emulators: dict[str, Any]) -> None:
    """Records synced to Volue that its emulator no longer holds: a warning naming the repair."""
    created = await live_client.post("/v1/customers", json={
        "externalRef": "chk-c-1", "name": "Ola", "email": "ola@example.com", "sites": [SITE]})
    assert created.status_code == 201, created.text
    body = created.json()
    await wait_synced(live_client, [f"/v1/customers/{body['id']}"])
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner")
    before = _text(await run_checks(settings))
    assert "volue records" in before and "every synced record is there" in before

    store = emulators["volue"].state.volue.store
    store.users.clear(), store.locations.clear(), store.resources.clear()  # the emulator was reset
    report = await run_checks(settings)
    text = _text(report)
    line = next(line for line in text.splitlines() if "volue records" in line)
    assert "warn" in line and "no longer holds" in line
    assert "`gateway reconcile --provider volue --repair`" in line
    assert "zaehlerfreunde records" in text and "zaehlerfreunde no longer holds" not in text


async def test_serve_warns_at_start_when_an_emulator_lost_synced_records(
        live_client: AsyncTestClient, database_url: str, emulators: dict[str, Any],
        capsys: pytest.CaptureFixture[str]) -> None:
    """gateway serve's start-up check prints one warning line with the count and the repair, once
    its servers answer; nothing while the emulator holds everything."""
    created = await live_client.post("/v1/customers", json={
        "externalRef": "chk-c-3", "name": "Eva", "email": "eva@example.com",
        "sites": [{**SITE, "externalRef": "chk-s-3", "devices": []}]})
    assert created.status_code == 201, created.text
    await wait_synced(live_client, [f"/v1/customers/{created.json()['id']}"])
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner")
    started = [SimpleNamespace(started=True, should_exit=False)]
    capsys.readouterr()
    await _warn_if_reset(settings, started, [Provider.VOLUE, Provider.ZAEHLERFREUNDE])
    assert "warning" not in capsys.readouterr().err
    emulators["volue"].state.volue.store.users.clear()  # the user is gone, its location with it
    emulators["volue"].state.volue.store.locations.clear()
    await _warn_if_reset(settings, started, [Provider.VOLUE, Provider.ZAEHLERFREUNDE])
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(lines) == 1, lines
    assert "volue no longer holds 2 record(s)" in lines[0]
    assert "gateway reconcile --provider volue --repair" in lines[0]


async def test_dead_tasks_fail_the_check(client: AsyncTestClient, settings: Any) -> None:
    """A dead outbox task makes the report fail (exit 1), naming how many and where to act."""
    created = await client.post("/v1/customers", json={"externalRef": "chk-c-2", "name": "Per",
                                                       "email": "per@example.com"})
    assert created.status_code == 201, created.text
    assert dead_tasks_check([]).ok
    engine = create_engine(settings.store.database_url)
    try:
        async with session_factory(engine)() as session:
            await session.exec(update(OutboxTaskRow).where(col(OutboxTaskRow.provider) == "volue")
                               .values(status="dead"))
            await session.commit()
    finally:
        await engine.dispose()
    report = await asyncio.wait_for(run_checks(settings), timeout=60)
    dead = next(check for check in report.checks if check.name == "dead tasks")
    assert not dead.ok and "dead task(s) (volue 1)" in dead.detail and "/console/problems" in dead.detail
    assert not report.ok


def test_dead_tasks_are_counted_over_providers() -> None:
    """Dead tasks of every provider add up; open ones do not count."""
    backlog = [Backlog(provider="volue", status="dead", count=2, oldest_age_s=1.0),
               Backlog(provider="volue", status="pending", count=5, oldest_age_s=1.0),
               Backlog(provider="zaehlerfreunde", status="dead", count=1, oldest_age_s=1.0)]
    check = dead_tasks_check(backlog)
    assert not check.ok and check.detail.startswith("3 dead task(s) (volue 2, zaehlerfreunde 1)")


def test_missing_secrets_key_fails_on_postgresql_only() -> None:
    """No GATEWAY_SECRETS_KEY on PostgreSQL fails the check; SQLite keeps a key beside its file."""
    postgres = load_settings({}, database_url="postgresql+asyncpg://postgres@127.0.0.1/x")
    check = secrets_key_check(postgres)
    assert not check.ok and "GATEWAY_SECRETS_KEY is not set" in check.detail and "postgresql" in check.detail
    keyed = load_settings({}, database_url="postgresql+asyncpg://postgres@127.0.0.1/x",
                          secrets_key="ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    assert secrets_key_check(keyed).ok
    sqlite = load_settings({}, database_url="sqlite+aiosqlite:///./gateway.db")
    assert secrets_key_check(sqlite).ok and "gateway.secrets-key" in secrets_key_check(sqlite).detail
