"""Operator tools for Volue against the emulator: ``gateway check`` names the URLs it used and
warns about webhooks; ``gateway volue webhooks update|enable|disable|logs``; ``gateway onboard
--enroll-eligible``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar, post
from rich.console import Console

from gateway.core.settings import Settings, load_settings
from gateway.ops.check import render, run_checks, webhook_warnings
from gateway.ops.volue_commands import register_webhook, set_enabled, update_webhook, webhook_logs
from providers.base import Webhook
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY
from tests.integration.test_onboard_cli import Run
from tests.integration.test_onboard_cli import run as run
from tests.integration.test_onboard_cli import serve_gateway as serve_gateway

RECEIVER = "/v1/providers/volue/webhook"


@pytest.fixture
def receiver_url() -> Iterator[str]:
    """A stand-in for the gateway's receiver that takes every notification."""

    @post(RECEIVER, status_code=200, sync_to_thread=False)
    def take() -> None:
        return None

    with serve_in_thread(Litestar([take], logging_config=None)) as url:
        yield url + RECEIVER


@pytest.fixture
def ops_settings(database_url: str, emulators: dict[str, Any]) -> Settings:
    return load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", secrets_key=Fernet.generate_key().decode(),
    )


async def _checked(settings: Settings) -> tuple[str, str]:
    """The check's webhook line and everything it printed."""
    report = await run_checks(settings)
    console = Console(record=True, width=250)
    render(report, console)
    text = console.export_text()
    line = next(line for line in text.splitlines() if "volue webhooks" in line)
    return line, text


async def test_check_prints_the_urls_and_warns_about_webhooks(
        ops_settings: Settings, emulators: dict[str, Any], receiver_url: str) -> None:
    """The API and token URLs are printed (no secret); a missing, misdirected or disabled webhook warns."""
    line, text = await _checked(ops_settings)
    volue = emulators["volue_url"]
    assert f"API {volue}/energy-coordination/v1; token {volue}/connect/token" in text
    assert "volue-emulator-secret" not in text
    assert "warn" in line and "no webhook registered" in line
    elsewhere = await register_webhook(ops_settings, url="https://elsewhere.example/hook")
    line, _ = await _checked(ops_settings)
    assert "warn" in line and f"{elsewhere.webhook_id} posts to https://elsewhere.example/hook" in line
    assert await update_webhook(ops_settings, elsewhere.webhook_id, url=receiver_url) is not None
    assert await set_enabled(ops_settings, elsewhere.webhook_id, False)
    line, _ = await _checked(ops_settings)
    assert "warn" in line and f"webhook {elsewhere.webhook_id} is disabled" in line
    assert await set_enabled(ops_settings, elsewhere.webhook_id, True)
    line, text = await _checked(ops_settings)
    assert "warn" not in line and "1 registered, enabled, posting to the receiver" in line
    assert "FAILED" not in text


def test_webhook_warnings_compare_with_the_configured_receiver() -> None:
    """With GATEWAY_VOLUE_WEBHOOK_URL set, a webhook at another host with the same path warns."""
    hook = Webhook(webhook_id="w1", url="https://old.example" + RECEIVER)
    assert webhook_warnings([hook], "https://old.example" + RECEIVER) == []
    [first, second] = webhook_warnings([hook], "https://new.example" + RECEIVER)
    assert "w1 posts to https://old.example" in first and "no webhook posts" in second
    assert webhook_warnings([hook], "") == []


async def test_webhook_update_rotates_the_secret_and_logs_show_attempts(
        ops_settings: Settings, emulators: dict[str, Any], receiver_url: str) -> None:
    """update changes URL and types and keeps a rotated secret; logs list Volue's attempts newest first."""
    hook = await register_webhook(ops_settings, url="https://elsewhere.example/hook")
    changed = await update_webhook(ops_settings, hook.webhook_id, url=receiver_url,
                                   types=["UserEligibilityUpdated"], rotate_secret=True)
    assert changed is not None and (changed.url, changed.types) == (receiver_url, ("UserEligibilityUpdated",))
    assert await update_webhook(ops_settings, "no-such-hook", url=receiver_url) is None
    volue = emulators["volue"].state.volue
    async with httpx.AsyncClient(base_url=emulators["volue_url"]) as client:
        token = (await client.post("/connect/token", data={
            "grant_type": "client_credentials", "client_id": "volue-emulator",
            "client_secret": "volue-emulator-secret"})).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for n in range(2):
            simulated = await client.post("/energy-coordination/v1/simulation/events/usereligibility",
                                          json={}, headers=auth)
            assert simulated.status_code == 200, simulated.text
            await asyncio.sleep(0.05 * (n + 1))
    for _ in range(100):
        if len(volue.hub.logs) >= 2:
            break
        await asyncio.sleep(0.05)
    logs = await webhook_logs(ops_settings, hook.webhook_id, 10)
    assert [(log.status_code, log.event_type) for log in logs] == [(200, "UserEligibilityUpdated")] * 2
    assert logs[0].sent_at >= logs[1].sent_at
    assert await webhook_logs(ops_settings, "another-hook", 10) == []


def test_onboard_enroll_eligible_enrolls_the_eligible_customer_only(
        run: Run, serve_gateway: Any, emulators: dict[str, Any], tmp_path: Path) -> None:
    """--enroll-eligible asks for every Volue customer of the file; only the one in a test area enrolls."""
    url = serve_gateway()
    csv = tmp_path / "spark.csv"
    csv.write_text(
        "customer_ref,customer_name,customer_email,providers,site_ref,site_name,site_kind,"
        "address_line1,postcode,city,country,latitude,longitude\n"
        "c-in,Kari,kari@example.com,volue,s-in,Hytta,residential,Vei 1,9170,Longyearbyen,NO,"
        "79.51913682860402,15.97611317258921\n"
        "c-out,Ola,ola@example.com,volue,s-out,Hus,residential,Gate 1,7010,Trondheim,NO,63.43,10.39\n",
        encoding="utf-8")
    code, out, err = run("onboard", str(csv), "--enroll-eligible", "--url", url, "--api-key", ADMIN_KEY)
    assert code == 0, out + err
    assert "asked to enroll 2 customer(s)" in out
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        ids = {c["externalRef"]: c["id"] for c in api.get("/v1/customers").json()["items"]}

        def status(ref: str) -> str:
            return str(api.get(f"/v1/customers/{ids[ref]}").json()["programmes"]["volue"]["status"])

        for _ in range(300):
            if status("c-in") != "pending" and status("c-out") != "pending":
                break
            time.sleep(0.1)
        assert (status("c-in"), status("c-out")) == ("enrolled", "not_enrolled")
    users = emulators["volue"].state.volue.store.users
    assert users[ids["c-in"]].enrollment_id is not None and users[ids["c-out"]].enrollment_id is None
