"""The database seam: the one dialect test, dialect inserts and IN-list chunks."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.store.db import IN_CHUNK, chunked, dialect_insert, is_postgres, on_postgres, session_factory

_TABLE = Table("seam_items", MetaData(), Column("id", String, primary_key=True))


def test_chunks_keep_order_and_cut_at_the_size() -> None:
    """Values come back in order, in pieces of at most ``size``; none for no values."""
    values = [f"v{i}" for i in range(IN_CHUNK * 2 + 1)]
    parts = list(chunked(values))
    assert [len(p) for p in parts] == [IN_CHUNK, IN_CHUNK, 1]
    assert [v for p in parts for v in p] == values
    assert list(chunked([(1, 2), (3, 4), (5, 6)], size=2)) == [[(1, 2), (3, 4)], [(5, 6)]]
    assert list(chunked([], postgres=True)) == []


def test_postgres_takes_all_values_at_once() -> None:
    """On PostgreSQL one array parameter carries every value: a single chunk."""
    values = [str(i) for i in range(IN_CHUNK * 3)]
    assert list(chunked(values, postgres=True)) == [values]


@pytest.mark.parametrize(("url", "postgres"), [("sqlite+aiosqlite://", False),
                                               ("postgresql+asyncpg://u@127.0.0.1:1/db", True)])
async def test_one_dialect_test_for_sessions_connections_and_engines(url: str, postgres: bool) -> None:
    """``is_postgres`` answers alike for an engine and a session of it (no connection needed)."""
    engine = create_async_engine(url)
    try:
        assert is_postgres(engine) is postgres
        assert is_postgres(engine.sync_engine) is postgres
        async with session_factory(engine)() as session:
            assert is_postgres(session) is postgres
            assert on_postgres(session) is postgres
    finally:
        await engine.dispose()


async def test_dialect_insert_follows_the_database() -> None:
    """The insert of a SQLite session is SQLite's (with its ON CONFLICT), PostgreSQL's elsewhere."""
    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        async with engine.connect() as connection:
            assert isinstance(dialect_insert(connection, _TABLE), sqlite.Insert)
            assert not isinstance(dialect_insert(connection, _TABLE), postgresql.Insert)
    finally:
        await engine.dispose()
    pg = create_async_engine("postgresql+asyncpg://u@127.0.0.1:1/db")
    try:
        async with session_factory(pg)() as session:
            assert isinstance(dialect_insert(session, _TABLE), postgresql.Insert)
    finally:
        await pg.dispose()
