"""The database away: the API answers 503 ``database-unavailable`` with Retry-After (never a 500),
readiness fails, the outage is logged once each way, workers pause and resume, and writes
retried with their Idempotency-Key after it run exactly once.

The PostgreSQL test restarts a throwaway cluster of its own (``initdb`` into a temporary
directory, served on a free loopback port), never the shared server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from gateway.app import create_app
from gateway.core.settings import Settings, load_settings
from gateway.store.db import UNAVAILABLE_RETRY_AFTER_S, create_engine
from gateway.store.migrate import upgrade
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY, REQUIRE_SERVICES
from tests.integration.conftest import wait_synced

UNAVAILABLE = "/database-unavailable"
IN_PROGRESS = "/idempotency-in-progress"
DOWN_LINE = "database unavailable"
UP_LINE = "database available again"


def _customer(ref: str) -> dict[str, Any]:
    return {"externalRef": ref, "name": f"Customer {ref}", "email": f"{ref}@example.com"}


def _lines(caplog: pytest.LogCaptureFixture, text_: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.store" and r.getMessage().startswith(text_)]


def _tracebacks(caplog: pytest.LogCaptureFixture, *loggers: str) -> list[str]:
    """Records of ``loggers`` that carry a traceback or are errors."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.name in loggers and (r.exc_info or r.levelno >= logging.ERROR)]


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(UNAVAILABLE)
    assert response.headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER_S)


# --- SQLite: a database file that cannot be opened yet ------------------------------------


@pytest.fixture
def unopened(tmp_path: Path, migrated_sqlite: Path) -> tuple[str, Path]:
    """A database URL whose directory does not exist yet, and where to put the file later."""
    path = tmp_path / "later" / "gateway.db"
    return f"sqlite+aiosqlite:///{path}", path


def _open(path: Path, migrated_sqlite: Path) -> None:
    path.parent.mkdir()
    shutil.copyfile(migrated_sqlite, path)


async def test_api_answers_503_while_the_database_cannot_be_opened(
        unopened: tuple[str, Path], migrated_sqlite: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Writes, reads and readiness answer 503 with Retry-After, logged once, and work once it is back."""
    url, path = unopened
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.WARNING, logger="httpx")
    settings = load_settings({}, database_url=url, admin_api_key=ADMIN_KEY)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Idempotency-Key": "k-1"}
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        for _ in range(3):
            _assert_refused(await client.post("/v1/customers", json=_customer("c-1"), headers=headers))
            _assert_refused(await client.get("/v1/customers", headers=headers))
        ready = await client.get("/health/ready")
        assert ready.status_code == 503 and "database failed" in ready.json()["detail"]
        assert ready.headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER_S)
        assert (await client.get("/health/live")).status_code == 200
        assert len(_lines(caplog, DOWN_LINE)) == 1
        assert _lines(caplog, UP_LINE) == []
        assert _tracebacks(caplog, "gateway.api", "gateway.access") == []

        _open(path, migrated_sqlite)
        created = await client.post("/v1/customers", json=_customer("c-1"), headers=headers)
        assert created.status_code == 201, created.text
        assert created.headers["idempotent-replayed"] == "false"
        listed = await client.get("/v1/customers", headers=headers)
        assert [c["externalRef"] for c in listed.json()["items"]] == ["c-1"]
        assert (await client.get("/health/ready")).status_code == 200
    assert len(_lines(caplog, DOWN_LINE)) == 1
    assert len(_lines(caplog, UP_LINE)) == 1


async def test_served_document_lists_the_503(sqlite_url: str) -> None:
    """Every operation but liveness documents 503 as a problem with a required Retry-After."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        document = (await client.get("/schema/openapi.json")).json()
    seen = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            answer = operation["responses"].get("503")
            if path == "/health/live":
                assert answer is None
                continue
            assert answer is not None, f"{method} {path}"
            assert answer["headers"]["Retry-After"]["required"] is True
            assert "application/problem+json" in answer["content"]
            seen += 1
    assert seen > 30


async def test_embedded_worker_pauses_then_resumes(
        unopened: tuple[str, Path], migrated_sqlite: Path, emulators: dict[str, Any],
        caplog: pytest.LogCaptureFixture) -> None:
    """The embedded loops back off quietly while the database is away and sync once it is back."""
    url, path = unopened
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.WARNING, logger="httpx")
    settings = load_settings(
        {}, database_url=url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        await asyncio.sleep(2.0)  # every queue's loop tries, fails and backs off meanwhile
        assert len(_lines(caplog, DOWN_LINE)) == 1
        assert _tracebacks(caplog, "gateway.worker") == []
        _open(path, migrated_sqlite)
        created = await client.post("/v1/customers", json=_customer("c-1"))
        assert created.status_code == 201, created.text
        await wait_synced(client, [f"/v1/customers/{created.json()['id']}"], timeout=20.0)
    assert len(_lines(caplog, UP_LINE)) == 1
    assert _tracebacks(caplog, "gateway.worker") == []


# --- PostgreSQL: a throwaway cluster restarted under write load ----------------------------


def _postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A PostgreSQL cluster of the test's own, on 127.0.0.1:``port``."""

    bin: Path
    root: Path
    port: int
    as_postgres: bool
    """Run its commands as the ``postgres`` user (initdb refuses to run as root)."""

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    async def _run(self, tool: str, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._command(tool, *args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {output.decode(errors='replace')}")

    async def init(self) -> None:
        await self._run("initdb", "-D", str(self.root / "data"), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-sync")

    async def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=100")
        await self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options,
                        "-l", str(self.root / "log"), "-w", "-t", "30", "start")

    async def stop(self) -> None:
        """Immediate stop: every backend killed at once, recovery at the next start."""
        await self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")


def _cluster_or_skip() -> tuple[Path, bool]:
    why = ""
    bin_dir = _postgres_bin()
    as_postgres = os.geteuid() == 0
    if bin_dir is None:
        why = "initdb is not installed (neither on PATH nor under /usr/lib/postgresql)"
    elif as_postgres:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            why = "running as root and there is no postgres user to run initdb as"
        if not shutil.which("runuser"):
            why = "running as root and runuser is missing"
    if why:
        if REQUIRE_SERVICES:
            pytest.fail(f"a throwaway PostgreSQL cluster is required (GATEWAY_TEST_REQUIRE_SERVICES=1) "
                        f"but {why}")
        pytest.skip(f"no throwaway PostgreSQL cluster: {why}")
    assert bin_dir is not None
    return bin_dir, as_postgres


def _cluster_root(as_postgres: bool) -> Path:
    """A new private directory for the cluster, owned by whoever runs it."""
    root = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
    if as_postgres:
        postgres = pwd.getpwnam("postgres")
        os.chown(root, postgres.pw_uid, postgres.pw_gid)
    root.chmod(0o700)
    return root


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """A migrated, running throwaway cluster; stopped and deleted afterwards."""
    bin_dir, as_postgres = _cluster_or_skip()
    root = _cluster_root(as_postgres)
    made = Cluster(bin=bin_dir, root=root, port=_free_port(), as_postgres=as_postgres)
    try:
        await made.init()
        await made.start()
        await asyncio.to_thread(upgrade, made.url)
        yield made
    finally:
        try:
            await made.stop()
        except RuntimeError:
            pass  # not running
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Writes:
    """What the writing clients saw."""

    created: dict[str, str] = field(default_factory=dict)
    """Idempotency-Key -> the id of the customer its answer names."""
    refused: int = 0
    in_progress: int = 0
    replayed: int = 0
    unexpected: list[str] = field(default_factory=list)
    history: dict[str, list[str]] = field(default_factory=dict)
    """Idempotency-Key -> the answers its attempts got, for a failure's message."""


async def _writer(api: httpx.AsyncClient, name: str, writes: Writes, stop: asyncio.Event) -> None:
    """Create customers one after another; a refused one is sent again with its key until taken."""
    number = 0
    while not stop.is_set():
        key, body = f"{name}-{number}", _customer(f"{name}-{number}")
        while True:
            try:
                response = await api.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError as exc:
                writes.unexpected.append(f"{key}: {type(exc).__name__}")
                return
            writes.history.setdefault(key, []).append(
                f"{response.status_code} {response.headers.get('idempotent-replayed', '')}")
            if response.status_code == 201:
                writes.created[key] = response.json()["id"]
                writes.replayed += response.headers["idempotent-replayed"] == "true"
                break
            kind = response.json().get("type", "") if response.headers.get(
                "content-type", "").startswith("application/problem+json") else ""
            if response.status_code == 503 and kind.endswith(UNAVAILABLE) and response.headers.get(
                    "retry-after") == str(UNAVAILABLE_RETRY_AFTER_S):
                writes.refused += 1
            elif response.status_code == 409 and kind.endswith(IN_PROGRESS):
                writes.in_progress += 1
            else:
                writes.unexpected.append(f"{key}: {response.status_code} {response.text[:300]}")
                return
            await asyncio.sleep(0.1)  # the test's stand-in for Retry-After
        number += 1


@pytest.fixture
def served_on(cluster: Cluster, emulators: dict[str, Any]) -> Iterator[tuple[str, Settings]]:
    """The gateway with its embedded worker and the emulators, served on 127.0.0.1."""
    settings = load_settings(
        {}, database_url=cluster.url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", events_poll_interval_s=0,
        sync_backoff_base_s=0.05, sync_backoff_max_s=1.0,
    )
    with serve_in_thread(create_app(settings)) as api_url:
        yield api_url, settings


@pytest.mark.postgres
async def test_postgres_restarted_twice_under_write_load(
        cluster: Cluster, served_on: tuple[str, Settings], caplog: pytest.LogCaptureFixture) -> None:
    """Two immediate restarts under writes: no 500, every refusal a 503 with Retry-After, and after
    the retries with the same Idempotency-Key every customer exists exactly once."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.WARNING, logger="httpx")
    api_url, _ = served_on
    writes, stop = Writes(), asyncio.Event()
    not_ready: list[int] = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        writers = [asyncio.create_task(_writer(api, f"w{n}", writes, stop)) for n in range(6)]
        for _ in range(2):
            await asyncio.sleep(1.5)
            await cluster.stop()
            await asyncio.sleep(0.5)
            not_ready.append((await api.get("/health/ready")).status_code)
            await asyncio.sleep(1.5)
            await cluster.start()
        await asyncio.sleep(1.5)
        stop.set()
        done, pending = await asyncio.wait(writers, timeout=20.0)
        for writer in pending:
            writer.cancel()
        unfinished = {k: v[-3:] for k, v in writes.history.items() if k not in writes.created}
        assert not pending, f"writes still refused 20 s after the last restart: {unfinished}"
        for writer in done:
            writer.result()
        assert (await api.get("/health/ready")).status_code == 200

    assert writes.unexpected == [], [", ".join(writes.history[u.split(":")[0]]) for u in writes.unexpected]
    assert writes.refused > 0, "no write met the outages"
    assert not_ready == [503, 503]
    engine = create_engine(cluster.url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, external_ref FROM customers"))).all()
    finally:
        await engine.dispose()
    stored = {ref: id_ for id_, ref in rows}
    assert len(rows) == len(stored), "a customer was created twice"
    assert stored == writes.created, "a write was lost, or answered with another customer"
    assert len(_lines(caplog, DOWN_LINE)) == 2
    assert len(_lines(caplog, UP_LINE)) == 2
    assert _tracebacks(caplog, "gateway.api", "gateway.worker", "gateway.access") == []
