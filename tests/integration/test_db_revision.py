"""``gateway db revision`` writes nothing when the models match the database, and numbers what it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.ops.revision import next_revision_id, write_revision

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def test_no_change_writes_no_revision(sqlite_url: str, tmp_path: Path) -> None:
    """A database at head with the models unchanged: no file, here or in migrations/versions."""
    before = sorted(VERSIONS.iterdir())
    elsewhere = tmp_path / "versions"
    elsewhere.mkdir()
    assert write_revision(sqlite_url, "nothing", version_path=str(elsewhere)) is None
    assert list(elsewhere.iterdir()) == []
    assert sorted(VERSIONS.iterdir()) == before


def test_the_command_says_so(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """`gateway db revision -m ...` with nothing to migrate exits 0 and says no revision was written."""
    before = sorted(VERSIONS.iterdir())
    monkeypatch.setenv("GATEWAY_DATABASE_URL", sqlite_url)
    assert main(["db", "revision", "-m", "nothing"]) == 0
    assert "no revision written" in capsys.readouterr().err
    assert sorted(VERSIONS.iterdir()) == before


def test_revisions_are_numbered_after_the_head() -> None:
    """0017 is followed by 0018; a chain that is not numbered is left to Alembic."""
    assert next_revision_id("0017") == "0018"
    assert next_revision_id("0099") == "0100"
    assert next_revision_id(None) == "0001"
    assert next_revision_id("5070791d12bf") is None
