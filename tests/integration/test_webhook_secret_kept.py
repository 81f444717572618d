"""A Volue webhook's secret is stored before the request that creates or rotates it, so a lost or
bodiless answer cannot leave Volue signing with a secret the gateway does not hold."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import Settings, load_settings
from gateway.ops.volue_commands import Unresolved, list_webhooks, register_webhook, update_webhook
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import VolueWebhookRow
from providers.base import TransientError
from providers.volue.schemas import NotificationType
from tests.conftest import ADMIN_KEY

HOOK_URL = "https://gateway.example/v1/providers/volue/webhook"
WEBHOOKS = "/energy-coordination/v1/webhooks"


@pytest.fixture
def ops_settings(database_url: str, emulators: dict[str, Any]) -> Settings:
    return load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", secrets_key=Fernet.generate_key().decode(),
    )


def _control(emulators: dict[str, Any], what: str, body: dict[str, Any]) -> None:
    response = httpx.put(f"{emulators['volue_url']}/_emulator/{what}", json=body)
    assert response.status_code == 200, response.text


async def _rows(settings: Settings) -> list[VolueWebhookRow]:
    engine = create_engine(settings.store.database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(select(VolueWebhookRow))).scalars())
    finally:
        await engine.dispose()


def _upstream_secret(emulators: dict[str, Any], webhook_id: str) -> str | None:
    secret: str | None = emulators["volue"].state.volue.hub.webhooks[webhook_id].secret
    return secret


async def _assert_settled(settings: Settings, emulators: dict[str, Any], webhook_id: str) -> None:
    """One row, under Volue's id, not pending, holding the secret Volue signs with."""
    [row] = await _rows(settings)
    assert (row.webhook_id, row.pending, row.pending_secret_sealed) == (webhook_id, False, None)
    secret = SecretsBox.from_settings(settings).open(row.secret_sealed)
    assert secret == _upstream_secret(emulators, webhook_id)


async def test_lost_answer_on_register_is_settled_by_listing(
        ops_settings: Settings, emulators: dict[str, Any]) -> None:
    """POST /webhooks carried out but its answer lost: the webhook is found by listing, its secret kept."""
    _control(emulators, "faults", {"lostRate": 1.0, "paths": [WEBHOOKS], "methods": ["POST"]})
    try:
        hook = await register_webhook(ops_settings, url=HOOK_URL)
    finally:
        _control(emulators, "faults", {})
    assert list(emulators["volue"].state.volue.hub.webhooks) == [hook.webhook_id]
    assert emulators["volue"].state.emulation.stats.unanswered[f"POST {WEBHOOKS}"] == 1
    # Registered for all types, each named in the request.
    upstream = emulators["volue"].state.volue.hub.webhooks[hook.webhook_id]
    assert set(upstream.notification_types) == set(NotificationType) - {NotificationType.UNKNOWN}
    await _assert_settled(ops_settings, emulators, hook.webhook_id)


async def test_bodiless_answer_on_register_is_settled_by_listing(
        ops_settings: Settings, emulators: dict[str, Any]) -> None:
    """A documented bodiless 200 on POST /webhooks (minimal answers) still ends with the secret kept."""
    _control(emulators, "answers", {"minimal": True})
    try:
        hook = await register_webhook(ops_settings, url=HOOK_URL)
        listed = await list_webhooks(ops_settings)
    finally:
        _control(emulators, "answers", {"minimal": False})
    assert [(h.webhook_id, ours) for h, ours in listed] == [(hook.webhook_id, True)]
    assert emulators["volue"].state.emulation.stats.requests[f"POST {WEBHOOKS}"] == {200: 1}
    await _assert_settled(ops_settings, emulators, hook.webhook_id)


async def test_unsettled_registration_keeps_its_secret_until_listed(
        ops_settings: Settings, emulators: dict[str, Any]) -> None:
    """With the answer and the listing lost, the secret waits as pending; the next list settles it."""
    _control(emulators, "faults", {"lostRate": 1.0, "paths": [WEBHOOKS]})
    try:
        with pytest.raises(Unresolved):
            await register_webhook(ops_settings, url=HOOK_URL)
    finally:
        _control(emulators, "faults", {})
    [row] = await _rows(ops_settings)
    assert row.pending and row.webhook_id.startswith("pending-")
    [upstream] = emulators["volue"].state.volue.hub.webhooks
    secret = SecretsBox.from_settings(ops_settings).open(row.secret_sealed)
    assert secret == _upstream_secret(emulators, upstream)
    await list_webhooks(ops_settings)
    await _assert_settled(ops_settings, emulators, upstream)


async def test_rotation_keeps_both_secrets_until_confirmed(
        ops_settings: Settings, emulators: dict[str, Any]) -> None:
    """A rotation whose answer is lost keeps old and new secret; the next confirmed rotation keeps one."""
    hook = await register_webhook(ops_settings, url=HOOK_URL)
    box = SecretsBox.from_settings(ops_settings)
    [before] = await _rows(ops_settings)
    _control(emulators, "faults", {"lostRate": 1.0, "paths": [WEBHOOKS], "methods": ["PATCH"]})
    try:
        with pytest.raises(TransientError):
            await update_webhook(ops_settings, hook.webhook_id, rotate_secret=True)
    finally:
        _control(emulators, "faults", {})
    [row] = await _rows(ops_settings)
    assert row.secret_sealed == before.secret_sealed and row.pending_secret_sealed is not None
    assert box.open(row.pending_secret_sealed) == _upstream_secret(emulators, hook.webhook_id)
    assert await update_webhook(ops_settings, hook.webhook_id, rotate_secret=True) is not None
    await _assert_settled(ops_settings, emulators, hook.webhook_id)
