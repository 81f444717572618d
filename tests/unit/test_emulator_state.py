"""Emulators that remember: their state kept in a file, loaded at start, written after changes."""

from __future__ import annotations

import logging
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from gateway.core.settings import load_settings
from gateway.ops.emulators import build_emulator, state_path
from providers.emulation import serve_in_thread
from providers.emulation.persistence import StateFile

ZF_ID, ZF_SECRET = "zf-test", "zf-test-secret"
SPACE = {"name": "Musterhaus", "addressLineOne": "Hauptstraße 1", "postcode": "10115", "city": "Berlin",
         "category": "SINGLE_FAMILY_HOME"}


def _zf(path: Path, delay_s: float = 0.05) -> StateFile:
    app = build_emulator("zaehlerfreunde", client_id=ZF_ID, client_secret=ZF_SECRET)
    return StateFile(app, path, name="zaehlerfreunde", delay_s=delay_s)


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10, trust_env=False)
    token = client.post("/partner/auth/token", json={"clientId": ZF_ID, "clientSecret": ZF_SECRET})
    client.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"
    return client


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.02)


def test_state_is_written_after_a_change_and_loaded_by_the_next_emulator(tmp_path: Path) -> None:
    """A space created in one emulator is there, with its id, in the next one started on the same file."""
    path = tmp_path / "zf.state"
    first = _zf(path)
    assert not first.loaded
    with serve_in_thread(first) as url, closing(_client(url)) as api:
        space_id = api.post("/partner/spaces", json=SPACE).json()["spaceId"]
        _wait_for(path)  # written by the debounce, before any shutdown
    second = _zf(path)
    assert second.loaded
    with serve_in_thread(second) as url, closing(_client(url)) as api:
        listed = api.get("/partner/spaces").json()
        assert [(space["id"], space["name"]) for space in listed["spaces"]] == [(space_id, "Musterhaus")]
        assert api.get("/_emulator/stats").json()["entities"]["spaces"] == 1


def test_reads_do_not_write_and_save_writes_at_once(tmp_path: Path) -> None:
    """GET requests leave the file alone; save() (as at shutdown) writes it without waiting."""
    path = tmp_path / "zf.state"
    emulator = _zf(path, delay_s=60)
    with serve_in_thread(emulator) as url, closing(_client(url)) as api:
        api.get("/partner/spaces")
        time.sleep(0.2)
        assert not path.exists()
        api.post("/partner/spaces", json=SPACE)
        assert not path.exists()  # the debounce holds the write
        emulator.save()
        assert path.exists()
    assert _zf(path).app.state.zaehlerfreunde.entity_counts()["spaces"] == 1


def test_an_unreadable_file_is_moved_aside_and_the_emulator_starts_empty(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A file that is not this emulator's state is kept as FILE.unreadable, with a warning."""
    path = tmp_path / "zf.state"
    path.write_bytes(b"not a state")
    logger = logging.getLogger("providers.emulation.persistence")
    logger.addHandler(caplog.handler)  # whatever the logging set-up of the moment propagates
    try:
        emulator = _zf(path)
    finally:
        logger.removeHandler(caplog.handler)
    assert not emulator.loaded
    assert not path.exists() and (tmp_path / "zf.state.unreadable").read_bytes() == b"not a state"
    assert "cannot read its state file" in caplog.text
    assert emulator.app.state.zaehlerfreunde.entity_counts()["spaces"] == 0


def test_a_volue_state_is_not_loaded_into_the_other_emulator(tmp_path: Path) -> None:
    """Each file names its emulator: Volue's state given to Zählerfreunde is refused."""
    path = tmp_path / "state"
    StateFile(build_emulator("volue"), path, name="volue").save()
    assert not _zf(path).loaded


def test_state_files_go_beside_a_sqlite_database_only(tmp_path: Path) -> None:
    """gateway serve keeps the emulators' state beside its SQLite file; PostgreSQL gets none."""
    sqlite = load_settings({}, database_url=f"sqlite+aiosqlite:///{tmp_path}/gateway.db")
    assert state_path(sqlite, "volue") == tmp_path / "gateway.db.volue-emulator.state"
    postgres = load_settings({}, database_url="postgresql+asyncpg://postgres@127.0.0.1/x",
                             secrets_key="", redis_url="")
    assert state_path(postgres, "volue") is None
