"""Commands run on the host go into the audit trail with the host's user."""

from __future__ import annotations

import getpass

import pytest
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.cli import main
from gateway.core.settings import load_settings
from tests.conftest import ADMIN_KEY
from tests.integration import test_cli_keys
from tests.integration.test_cli_keys import create_key

cli_env = test_cli_keys.cli_env


def trail(database_url: str, action: str) -> list[dict[str, str]]:
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY)
    app = create_app(settings, embedded_worker=False)
    with TestClient(app) as client:
        answer = client.get("/v1/audit", params={"action": action},
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]


def test_key_creation_and_revocation_are_audited_with_the_host_user(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``api-keys create`` and ``revoke`` (a known key, then an unknown one) are listed at
    ``GET /v1/audit`` as the host user's, through the CLI, the unknown one as an error."""
    create_key(capsys, "customers:read", name="auditor")
    created = trail(cli_env, "api_key.create")
    assert len(created) == 1
    entry = created[0]
    assert (entry["actorKind"], entry["actorId"], entry["via"], entry["result"]) == (
        "cli", getpass.getuser(), "cli", "ok")
    key_id = entry["target"].removeprefix("api_key:")
    assert "'auditor'" in entry["detail"] and "customers:read" in entry["detail"]
    assert main(["api-keys", "revoke", key_id]) == 0
    assert main(["api-keys", "revoke", "gw_unknown"]) == 1
    revoked = trail(cli_env, "api_key.revoke")
    assert [(e["target"], e["result"]) for e in revoked] == [
        ("api_key:gw_unknown", "error"), (f"api_key:{key_id}", "ok")]
