"""``gateway api-keys create|list|revoke`` against a migrated database, checked through the API."""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.cli import main
from gateway.core.settings import load_settings
from gateway.http.apikeys import hash_key
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ApiKeyRow

CUSTOMER = {"externalRef": "cli-1", "name": "Lise Meitner", "email": "lise@example.com"}


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI points at the test database."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    return database_url


def create_key(capsys: pytest.CaptureFixture[str], *scopes: str, name: str = "reader") -> str:
    """Run ``api-keys create`` and return the key it prints as its last line."""
    args = ["api-keys", "create", "--name", name]
    for scope in scopes:
        args += ["--scope", scope]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    return out[-1]


def api(database_url: str) -> TestClient:
    """A fresh app (and so a fresh key cache) on the database."""
    return TestClient(create_app(load_settings({}, database_url=database_url),
                                 embedded_worker=False))


def stored_keys(database_url: str) -> list[ApiKeyRow]:
    async def read() -> list[ApiKeyRow]:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                return list((await session.execute(select(ApiKeyRow))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_created_key_reads_but_cannot_write(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A customers:read key from the CLI gets 200 on GET and 403 on POST."""
    key = create_key(capsys, "customers:read")
    assert key.startswith("gw_")
    headers = {"Authorization": f"Bearer {key}"}
    with api(cli_env) as client:
        assert client.get("/v1/customers", headers=headers).status_code == 200
        assert client.post("/v1/customers", json=CUSTOMER, headers=headers).status_code == 403


def test_key_is_stored_hashed(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the key's SHA-256 and its public prefix are stored, with the scopes asked for."""
    key = create_key(capsys, "customers:write", "customers:read", "customers:read", name="svc")
    (row,) = stored_keys(cli_env)
    assert row.key_hash == hash_key(key)
    assert key.startswith(f"gw_{row.prefix}_")
    assert row.name == "svc" and row.revoked_at is None
    assert row.scopes == ["customers:read", "customers:write"]
    secret = key.split("_", 2)[2]
    assert all(secret not in str(value) for value in row.model_dump().values())
    with api(cli_env) as client:
        created = client.post("/v1/customers", json=CUSTOMER,
                              headers={"Authorization": f"Bearer {key}"})
        assert created.status_code == 201


def test_list_shows_keys_but_never_the_key(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``api-keys list`` names each key and its prefix without printing the key itself."""
    key = create_key(capsys, "ops", name="ops-bot")
    assert main(["api-keys", "list"]) == 0
    captured = capsys.readouterr()
    (row,) = stored_keys(cli_env)
    assert "ops-bot" in captured.out and row.prefix in captured.out
    assert key not in captured.out + captured.err
    assert key.split("_", 2)[2] not in captured.out + captured.err


@pytest.mark.parametrize("by", ["prefix", "id"])
def test_revoked_key_is_refused(cli_env: str, capsys: pytest.CaptureFixture[str], by: str) -> None:
    """After ``api-keys revoke`` (by prefix or id) the key is marked revoked and gets 401."""
    key = create_key(capsys, "customers:read")
    keep = create_key(capsys, "customers:read", name="other")
    (row,) = [r for r in stored_keys(cli_env) if r.key_hash == hash_key(key)]
    assert main(["api-keys", "revoke", row.prefix if by == "prefix" else row.id]) == 0
    assert "revoked 1 key" in capsys.readouterr().err.replace("\n", " ")
    revoked = {r.key_hash: r.revoked_at for r in stored_keys(cli_env)}
    assert revoked[hash_key(key)] is not None
    assert revoked[hash_key(keep)] is None
    with api(cli_env) as client:
        refused = client.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401
        assert client.get("/v1/customers",
                          headers={"Authorization": f"Bearer {keep}"}).status_code == 200


def test_revoking_an_unknown_key_fails(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Revoking a prefix no key has exits with status 1 and changes nothing."""
    create_key(capsys, "customers:read")
    assert main(["api-keys", "revoke", "nosuchkey"]) == 1
    assert [r.revoked_at for r in stored_keys(cli_env)] == [None]


def test_unknown_scope_is_refused(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A scope the gateway does not know is a usage error and stores no key."""
    with pytest.raises(SystemExit) as exit_info:
        main(["api-keys", "create", "--name", "x", "--scope", "customers:delete"])
    assert exit_info.value.code == 2
    assert "customers:delete" in capsys.readouterr().err
    assert stored_keys(cli_env) == []


def test_bad_configuration_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed GATEWAY_DATABASE_URL stops the command with exit status 2, naming it."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "mysql://db/gateway")
    with pytest.raises(SystemExit) as exit_info:
        main(["api-keys", "list"])
    assert exit_info.value.code == 2
    assert "GATEWAY_DATABASE_URL" in capsys.readouterr().err.replace("\n", "")
