"""``gateway volue webhooks`` commands go into the audit trail with the host's user."""

from __future__ import annotations

import asyncio
import getpass
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlmodel import col, select

from gateway.cli import main
from gateway.store.db import create_engine, session_factory
from gateway.store.ops_tables import AuditRow


def _trail(database_url: str) -> list[AuditRow]:
    async def read() -> list[AuditRow]:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                return list(await session.exec(select(AuditRow).order_by(col(AuditRow.id))))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_register_disable_and_a_refused_delete_are_audited(
        database_url: str, emulators: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Registering and disabling a webhook are ``ok`` entries of the host user through the CLI;
    deleting one Volue does not hold is an ``error`` entry saying so."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    monkeypatch.setenv("GATEWAY_VOLUE_BASE_URL", emulators["volue_url"] + "/energy-coordination/v1")
    monkeypatch.setenv("GATEWAY_ZF_BASE_URL", emulators["zf_url"] + "/partner")
    monkeypatch.setenv("GATEWAY_SECRETS_KEY", Fernet.generate_key().decode())
    assert main(["volue", "webhooks", "register", "--url", "https://gw.example/hook"]) == 0
    hook_id = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["volue", "webhooks", "disable", hook_id]) == 0
    assert main(["volue", "webhooks", "delete", "no-such-hook"]) == 1
    trail = _trail(database_url)
    assert [(e.action, e.target, e.result, e.actor_id, e.via) for e in trail] == [
        ("webhook.register", "webhook:https://gw.example/hook", "ok", getpass.getuser(), "cli"),
        ("webhook.disable", f"webhook:{hook_id}", "ok", getpass.getuser(), "cli"),
        ("webhook.delete", "webhook:no-such-hook", "error", getpass.getuser(), "cli")]
    assert trail[2].detail is not None and "no such webhook" in trail[2].detail
