"""Shared fixtures: databases (SQLite always, PostgreSQL and Redis when configured), the app.

PostgreSQL and Redis suites run when ``GATEWAY_TEST_POSTGRES_URL`` /
``GATEWAY_TEST_REDIS_URL`` are set; with ``GATEWAY_TEST_REQUIRE_SERVICES=1``
an unreachable service fails the run instead of skipping.

The provider documents (OpenAPI files, seeds, webhook vectors) are read from ``../shared``
beside the repository, or ``GATEWAY_SHARED_DIR``. When they are not there, the tests that
read them are skipped as one group with one line saying where the documents go; with
``GATEWAY_TEST_REQUIRE_SERVICES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlmodel import SQLModel

from gateway.app import create_app
from gateway.core.settings import Settings, load_settings
from gateway.store.db import create_engine
from gateway.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GATEWAY_SHARED_DIR", REPO.parent / "shared"))
ADMIN_KEY = "test-admin-key"
REQUIRE_SERVICES = os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "")


DOCUMENTS_MISSING = not SHARED.is_dir()
DOCUMENTS_SKIP = (
    f"provider documents not found at {SHARED}: put the shared provider documents (providers/, seeds/) "
    "in a directory named shared beside the repository, or set GATEWAY_SHARED_DIR"
)
_skipped_for_documents: set[Path] = set()


def _reads_missing_documents(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a provider document missing from ``SHARED``, or an
    import of a test module skipped for that reason."""
    root = os.path.normpath(os.path.abspath(SHARED))
    while exc is not None:
        if isinstance(exc, FileNotFoundError) and exc.filename is not None:
            if os.path.normpath(os.path.abspath(exc.filename)).startswith(root + os.sep):
                return True
        if isinstance(exc, ImportError) and exc.name:
            if REPO.joinpath(*exc.name.split(".")).with_suffix(".py") in _skipped_for_documents:
                return True
        exc = exc.__cause__ or exc.__context__
    return False


class _DocumentsModule(pytest.Module):
    """A test module that is skipped when importing it needs the missing provider documents."""

    def _getobj(self) -> Any:
        try:
            return super()._getobj()
        except Exception as exc:
            if not _reads_missing_documents(exc):
                raise
            _skipped_for_documents.add(self.path)
        raise pytest.skip.Exception(DOCUMENTS_SKIP, allow_module_level=True)


if DOCUMENTS_MISSING and not REQUIRE_SERVICES:

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
        if module_path.name == "__init__.py":
            return None
        module: pytest.Module = _DocumentsModule.from_parent(parent, path=module_path)
        return module

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
        report = yield
        if report.skipped and getattr(collector, "path", None) in _skipped_for_documents:
            report.longrepr = (__file__, None, DOCUMENTS_SKIP)  # one line for the whole group
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        report = yield
        if report.failed and call.excinfo is not None and _reads_missing_documents(call.excinfo.value):
            report.outcome = "skipped"
            report.longrepr = (__file__, None, DOCUMENTS_SKIP)
        return report


def _service_missing(name: str, why: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (GATEWAY_TEST_REQUIRE_SERVICES=1) but {why}")
    pytest.skip(f"{name} not available: {why}")


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated, empty PostgreSQL database for this test session."""
    if not POSTGRES_URL:
        _service_missing("PostgreSQL", "GATEWAY_TEST_POSTGRES_URL is not set")
    try:
        asyncio.run(_reset_postgres(POSTGRES_URL))
    except Exception as exc:
        _service_missing("PostgreSQL", f"{type(exc).__name__}: {exc}")
    upgrade(POSTGRES_URL)
    yield POSTGRES_URL


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (tests/integration/test_migrations.py
    runs the migrations themselves); each test gets a copy."""
    path = tmp_path_factory.mktemp("migrated") / "gateway.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists(), "the migrated file is not checkpointed"
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh, migrated SQLite file."""
    path = tmp_path / "gateway.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        _service_missing("Redis", "GATEWAY_TEST_REDIS_URL is not set")
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
        client.close()
    except Exception as exc:
        _service_missing("Redis", f"{type(exc).__name__}: {exc}")
    return REDIS_URL


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The API with an admin key, no worker: outbox tasks stay pending for inspection."""
    app = create_app(settings, embedded_worker=False)
    async with AsyncTestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client
