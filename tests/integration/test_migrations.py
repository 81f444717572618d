"""The Alembic migrations build exactly the schema the SQLModel tables declare."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import gateway.store
from gateway.store.db import create_engine
from gateway.store.migrate import alembic_config, upgrade
from tests.conftest import _reset_postgres

T = TypeVar("T")

LIVE_UNIQUE = {"customers": "uq_customers_external_ref", "sites": "uq_sites_external_ref",
               "devices": "uq_devices_external_ref"}


def register_all_tables() -> None:
    """Import every ``gateway.store`` module that declares tables, so the metadata is complete."""
    for module in pkgutil.iter_modules(gateway.store.__path__):
        if module.name.endswith("tables"):
            importlib.import_module(f"gateway.store.{module.name}")


register_all_tables()


def inspect_db(url: str, fn: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (a new SQLite file, or the freshly reset PostgreSQL one) at head."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        upgrade(url)
        return url
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    return url


def test_upgrade_matches_the_models(migrated_url: str) -> None:
    """Autogenerate finds no difference between the upgraded database and the metadata."""
    assert inspect_db(migrated_url, schema_diff) == []


def test_database_is_at_the_single_head(migrated_url: str) -> None:
    """After upgrade the database records the one head revision of the migration scripts."""
    version = inspect_db(migrated_url, lambda c: c.execute(
        text("SELECT version_num FROM alembic_version")).scalars().all())
    assert version == [head()]


def test_tables_and_columns_are_the_declared_ones(migrated_url: str) -> None:
    """Every declared table exists with exactly its declared columns, and nothing else."""
    def layout(conn: Connection) -> dict[str, set[str]]:
        inspector = inspect(conn)
        return {name: {c["name"] for c in inspector.get_columns(name)}
                for name in inspector.get_table_names() if name != "alembic_version"}

    declared = {table.name: {c.name for c in table.columns}
                for table in SQLModel.metadata.sorted_tables}
    assert inspect_db(migrated_url, layout) == declared


def test_external_refs_are_unique_among_live_rows(migrated_url: str) -> None:
    """The externalRef unique indexes are partial: they skip soft-deleted rows."""
    def definitions(conn: Connection) -> dict[str, str]:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
        else:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes"))
        return {name: sql or "" for name, sql in rows}

    found = inspect_db(migrated_url, definitions)
    for table, index in LIVE_UNIQUE.items():
        sql = " ".join(found[index].split()).lower()
        assert "unique" in sql and table in sql, sql
        assert "deleted_at is null" in sql.replace("(", "").replace(")", ""), sql


def test_upgrade_twice_is_harmless(migrated_url: str) -> None:
    """Running the upgrade on a database already at head changes nothing."""
    upgrade(migrated_url)
    assert inspect_db(migrated_url, schema_diff) == []


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    """Every migration can be undone down to an empty database and replayed to the same schema."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    downgrade(alembic_config(url), "base")
    tables = inspect_db(url, lambda c: set(inspect(c).get_table_names()))
    assert tables <= {"alembic_version"}
    upgrade(url)
    assert inspect_db(url, schema_diff) == []


def test_declared_collations_are_the_migrated_ones(migrated_url: str) -> None:
    """Columns declared with a collation (the bytewise readings keys on PostgreSQL) have it after upgrade."""
    def collations(conn: Connection) -> dict[tuple[str, str], str | None]:
        return {(table, column["name"]): getattr(column["type"], "collation", None)
                for table in inspect(conn).get_table_names() if table != "alembic_version"
                for column in inspect(conn).get_columns(table)}

    found = inspect_db(migrated_url, collations)
    dialect = "postgresql" if migrated_url.startswith("postgresql") else "sqlite"
    declared = {}
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            collation = getattr(column.type._variant_mapping.get(dialect, column.type), "collation", None)
            if collation is not None:
                declared[(table.name, column.name)] = collation
    assert declared == {key: found[key] for key in declared}
    if dialect == "postgresql":
        assert found[("readings", "device_id")] == "C"


def test_readings_stored_before_batches_existed_get_their_batches(tmp_path: Path) -> None:
    """Upgrading to 0004 gives every batch of stored readings a row: its customer, size and delivery."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'batches.db'}"
    upgrade(url, "0003")
    at = "2026-01-01 00:00:00.000000+00:00"

    def seed(conn: Connection) -> None:
        conn.execute(text(
            "INSERT INTO customers (id, external_ref, name, email, providers, created_at, updated_at) "
            "VALUES ('c-1', 'c-1', 'Customer', 'c@example.com', '[\"zaehlerfreunde\"]', :at, :at)"),
            {"at": at})
        conn.execute(text(
            "INSERT INTO devices (id, customer_id, external_ref, kind, name, is_main, created_at, "
            "updated_at) "
            "VALUES ('d-1', 'c-1', 'm-1', 'meter', 'Meter', 0, :at, :at)"), {"at": at})
        for ts, batch, delivered in ((1, "b-1", at), (2, "b-1", at), (3, "b-2", None), (4, None, None)):
            conn.execute(text(
                "INSERT INTO readings (device_id, obis_code, ts, value, batch_id, received_at, delivered_at) "
                "VALUES ('d-1', '1-1:1.8.0', :ts, 1.0, :batch, :at, :delivered)"),
                {"ts": ts, "batch": batch, "at": at, "delivered": delivered})
        conn.commit()

    inspect_db(url, seed)
    upgrade(url)
    rows = inspect_db(url, lambda c: c.execute(text(
        "SELECT id, customer_id, size, delivered_at IS NOT NULL FROM reading_batches ORDER BY id")).all())
    assert [tuple(r) for r in rows] == [("b-1", "c-1", 2, 1), ("b-2", "c-1", 1, 0)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without a schema: a new SQLite file, or the PostgreSQL one emptied (and put back
    at head, empty, afterwards for the tests that follow)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'keyed.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_reset_postgres(url))
    try:
        yield url
    finally:
        asyncio.run(_reset_postgres(url))
        upgrade(url)


def test_readings_keep_their_rows_when_keyed_and_unkeyed(empty_url: str) -> None:
    """0005 keys readings by (device, code, ts) without losing a row; its downgrade numbers them again."""
    upgrade(empty_url, "0004")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    stored = [("d-1", "1-1:1.8.0", 1, 1.5), ("d-1", "1-1:2.8.0", 1, 2.5), ("d-2", "1-1:1.8.0", 1, 3.5)]

    def seed(conn: Connection) -> None:
        for device, code, ts, value in stored:
            conn.execute(text(
                "INSERT INTO readings (device_id, obis_code, ts, value, received_at) "
                "VALUES (:d, :c, :t, :v, :at)"), {"d": device, "c": code, "t": ts, "v": value, "at": at})
        conn.commit()

    def rows(conn: Connection) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in conn.execute(text(
            "SELECT device_id, obis_code, ts, value FROM readings ORDER BY device_id, obis_code"))]

    def keys(conn: Connection) -> tuple[list[str], list[str]]:
        found = inspect(conn)
        return (found.get_pk_constraint("readings")["constrained_columns"],
                [column["name"] for column in found.get_columns("readings")])

    inspect_db(empty_url, seed)
    upgrade(empty_url)
    assert inspect_db(empty_url, rows) == stored
    primary, columns = inspect_db(empty_url, keys)
    assert primary == ["device_id", "obis_code", "ts"] and "id" not in columns
    assert inspect_db(empty_url, schema_diff) == []
    downgrade(alembic_config(empty_url), "0004")
    assert inspect_db(empty_url, rows) == stored
    assert inspect_db(empty_url, keys)[0] == ["id"]
    ids = inspect_db(empty_url, lambda c: sorted(r[0] for r in c.execute(text("SELECT id FROM readings"))))
    assert len(set(ids)) == 3

    def add_one(conn: Connection) -> int:
        new_id = conn.execute(text(
            "INSERT INTO readings (device_id, obis_code, ts, value, received_at) "
            "VALUES ('d-3', '1-1:1.8.0', 1, 4.5, :at) RETURNING id"), {"at": at}).scalar_one()
        conn.commit()
        return int(new_id)

    assert inspect_db(empty_url, add_one) > max(ids)
