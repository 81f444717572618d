"""Set-based reads and writes of the derivation, for a batch of meters in one transaction.

Every function takes the whole batch: its meters' marks are claimed with one statement,
their new readings found with one, the readings that decide the affected intervals read
with one, the points stored before them read with one, and the changed points written with
one (an ``unnest`` of column arrays on PostgreSQL, an executemany elsewhere). On PostgreSQL
the readings come back as one array of timestamps and one of values per meter and code,
decoded by the driver, so no Python object is made per reading row.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import (
    BigInteger,
    String,
    and_,
    column,
    func,
    select,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.store.db import among, dialect_insert, is_postgres
from gateway.store.energy_tables import EnergyMarkRow, EnergyPointRow
from gateway.store.reading_tables import ReadingRow
from gateway.store.tables import table_of

NO_MARK = datetime(1970, 1, 1, tzinfo=UTC)

Series = tuple[list[int], list[float]]
"""One code's readings of one meter: timestamps (increasing) and values."""


class Window(NamedTuple):
    """Readings of ``code`` from ``low`` to ``high`` decide the intervals to derive again."""

    device_id: str
    code: str
    low: int
    high: int


class StoredPoint(NamedTuple):
    """What a point holds before this run."""

    kwh: float | None
    flagged: bool
    meter_point_id: str | None
    reported_kwh: float | None
    report_id: str | None


POINT_COLUMNS = ("site_id", "direction", "ts", "interval_s", "device_id", "meter_point_id", "kwh",
                 "flagged", "reported_kwh", "report_id", "updated_at")
"""The order of a point row given to :func:`write_points`."""
_KEY = ("site_id", "direction", "ts")


async def _driver(connection: AsyncConnection) -> Any:
    """The asyncpg connection under ``connection``, inside the transaction of ``connection``."""
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    if not raw.is_in_transaction():
        await connection.execute(select(1))  # the dialect begins its transaction with the first statement
    return raw


async def claim_marks(connection: AsyncConnection, device_ids: Sequence[str]) -> dict[str, datetime]:
    """Each meter's mark, its row locked for this transaction (created at :data:`NO_MARK` when
    missing), in device order so that two runs claiming overlapping batches cannot deadlock.

    A concurrent run holding a mark makes this wait for its commit and then returns the mark
    that run left, so the readings it derived are not derived (and reported) again."""
    table = table_of(EnergyMarkRow)
    insert = dialect_insert(connection, table)
    rows = [{"device_id": d, "received_through": NO_MARK} for d in sorted(set(device_ids))]
    if not rows:
        return {}
    result = await connection.execute(
        insert.values(rows).on_conflict_do_update(
            index_elements=["device_id"], set_={"received_through": table.c.received_through})
        .returning(table.c.device_id, table.c.received_through))
    return {device_id: _utc(mark) for device_id, mark in result}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def advance_marks(connection: AsyncConnection, device_ids: Sequence[str], until: datetime) -> None:
    """The meters' readings received up to ``until`` are derived."""
    table = table_of(EnergyMarkRow)
    await connection.execute(
        update(table).where(among(table.c.device_id, sorted(device_ids), name="devices",
                                  postgres=is_postgres(connection)))
        .values(received_through=until))


EVERYTHING = (-(2**62), 2**62)
"""The window of a meter never derived: all its readings are new."""


async def new_windows(connection: AsyncConnection, marks: dict[str, datetime], codes: Sequence[str], *,
                      until: datetime, interval_s: int) -> list[Window]:
    """Per meter and code with readings received after the meter's mark (``marks``, claimed
    by :func:`claim_marks` in this transaction) and up to ``until``: the readings whose
    intervals those readings can change.

    A new reading changes the boundaries between the readings either side of it, so the
    window reaches from the interval boundary at or before the reading before the earliest
    new one to the boundary at or after the reading after the latest. A meter never derived
    has every reading new: its window is all of its readings, found without looking."""
    found = [Window(device_id, code, *EVERYTHING)
             for device_id, mark in sorted(marks.items()) if mark <= NO_MARK for code in codes]
    derived_before = sorted(device_id for device_id, mark in marks.items() if mark > NO_MARK)
    if not derived_before:
        return found
    postgres = is_postgres(connection)
    r = table_of(ReadingRow)
    m = table_of(EnergyMarkRow)
    new = (
        select(r.c.device_id, r.c.obis_code, func.min(r.c.ts).label("low"), func.max(r.c.ts).label("high"))
        .join(m, m.c.device_id == r.c.device_id)
        .where(among(r.c.device_id, derived_before, name="devices", postgres=postgres),
               among(r.c.obis_code, list(codes), name="codes", postgres=postgres),
               r.c.received_at <= until, r.c.received_at > m.c.received_through)
        .group_by(r.c.device_id, r.c.obis_code)
        .subquery("new")
    )
    other = r.alias("other")
    same = and_(other.c.device_id == new.c.device_id, other.c.obis_code == new.c.obis_code)
    before = select(func.max(other.c.ts)).where(same, other.c.ts < new.c.low).scalar_subquery()
    after = select(func.min(other.c.ts)).where(same, other.c.ts > new.c.high).scalar_subquery()
    rows = await connection.execute(
        select(new.c.device_id, new.c.obis_code, new.c.low, new.c.high, before, after))
    for device_id, code, low, high, prev, nxt in rows:
        low = (low if prev is None else prev) // interval_s * interval_s
        high = -(-(high if nxt is None else nxt) // interval_s) * interval_s
        found.append(Window(device_id, code, int(low), int(high)))
    return found


async def load_series(session: AsyncSession, device_id: str, code: str, low: int, high: int,
                      interval_s: int) -> Series:
    """One meter's readings of one code that decide every interval readings in ``[low, high]``
    touch (the window :func:`new_windows` finds for new readings; for read-backs)."""
    r = table_of(ReadingRow)
    same = and_(r.c.device_id == device_id, r.c.obis_code == code)
    prev = (await session.execute(
        select(func.max(r.c.ts)).where(same, r.c.ts < low))).scalar()
    nxt = (await session.execute(select(func.min(r.c.ts)).where(same, r.c.ts > high))).scalar()
    low = (low if prev is None else prev) // interval_s * interval_s
    high = -(-(high if nxt is None else nxt) // interval_s) * interval_s
    found = await load_windows(await session.connection(), [Window(device_id, code, low, high)])
    return found.get((device_id, code), ([], []))


_SERIES_PG = """
SELECT w.d, w.c, s.ts, s.vs
FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[]) AS w(d, c, lo, hi)
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT max(x.ts) FROM readings x
                     WHERE x.device_id = w.d AND x.obis_code = w.c AND x.ts < w.lo), w.lo) AS lo,
           coalesce((SELECT min(x.ts) FROM readings x
                     WHERE x.device_id = w.d AND x.obis_code = w.c AND x.ts > w.hi), w.hi) AS hi
) e
CROSS JOIN LATERAL (
    SELECT array_agg(q.ts) AS ts, array_agg(q.value) AS vs
    FROM (SELECT r.ts, r.value FROM readings r
          WHERE r.device_id = w.d AND r.obis_code = w.c AND r.ts >= e.lo AND r.ts <= e.hi
          ORDER BY r.ts) q
) s
WHERE s.ts IS NOT NULL
"""
"""Each window's readings plus the reading either side of it (which bracket its outer
boundaries): per window one row of arrays, aggregated in the order of the key's index (no sort).
The arrays come in that order in practice; :func:`_in_order` makes sure."""


def _in_order(ts: list[int], values: list[float]) -> Series:
    """A series sorted by time (aggregated arrays keep their input order, which is not promised)."""
    if all(map(operator.lt, ts, itertools.islice(ts, 1, None))):
        return ts, values
    pairs = sorted(zip(ts, values, strict=True))
    return [t for t, _ in pairs], [v for _, v in pairs]


async def load_windows(connection: AsyncConnection,
                       windows: Sequence[Window]) -> dict[tuple[str, str], Series]:
    """Each window's readings, and the reading either side of the window, by (meter, code)."""
    if not windows:
        return {}
    if is_postgres(connection):
        raw = await _driver(connection)
        rows = await raw.fetch(_SERIES_PG, *([w[i] for w in windows] for i in range(4)))
        return {(d, c): _in_order(ts, vs) for d, c, ts, vs in rows}
    r = table_of(ReadingRow)
    other = r.alias("other")
    w = values(column("d", String), column("c", String), column("lo", BigInteger),
               column("hi", BigInteger), name="w").data([tuple(window) for window in windows]).cte("w")
    same = and_(other.c.device_id == w.c.d, other.c.obis_code == w.c.c)
    low = func.coalesce(select(func.max(other.c.ts)).where(same, other.c.ts < w.c.lo).scalar_subquery(),
                        w.c.lo)
    high = func.coalesce(select(func.min(other.c.ts)).where(same, other.c.ts > w.c.hi).scalar_subquery(),
                         w.c.hi)
    rows = await connection.execute(
        select(r.c.device_id, r.c.obis_code, r.c.ts, r.c.value)
        .select_from(w.join(r, and_(r.c.device_id == w.c.d, r.c.obis_code == w.c.c,
                                    r.c.ts >= low, r.c.ts <= high)))
        .order_by(r.c.device_id, r.c.obis_code, r.c.ts))
    series: dict[tuple[str, str], Series] = {}
    for device_id, code, ts, value in rows:
        found = series.get((device_id, code))
        if found is None:
            found = series[(device_id, code)] = ([], [])
        found[0].append(ts)
        found[1].append(value)
    return series


async def stored_points(connection: AsyncConnection, spans: Iterable[tuple[str, str, int, int]]
                        ) -> dict[tuple[str, str, int], StoredPoint]:
    """The stored points of each (site, direction, first start, last start)."""
    spans = list(spans)
    if not spans:
        return {}
    p = table_of(EnergyPointRow)
    w = values(column("s", String), column("dir", String), column("lo", BigInteger),
               column("hi", BigInteger), name="w").data(spans).cte("w")
    rows = await connection.execute(
        select(p.c.site_id, p.c.direction, p.c.ts, p.c.kwh, p.c.flagged, p.c.meter_point_id,
               p.c.reported_kwh, p.c.report_id)
        .select_from(w.join(p, and_(p.c.site_id == w.c.s, p.c.direction == w.c.dir,
                                    p.c.ts >= w.c.lo, p.c.ts <= w.c.hi))))
    return {(site, direction, ts): StoredPoint(kwh, flagged, mpid, reported, report)
            for site, direction, ts, kwh, flagged, mpid, reported, report in rows}


_UPSERT = f"""
ON CONFLICT ({", ".join(_KEY)}) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in POINT_COLUMNS if c not in _KEY)}
"""
_UPSERT_PG = f"""
INSERT INTO energy_usage_points ({", ".join(POINT_COLUMNS)})
SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int4[], $5::text[], $6::text[],
                     $7::float8[], $8::bool[], $9::float8[], $10::text[], $11::timestamptz[])
{_UPSERT}"""
_INSERT_FRESH_PG = f"""
INSERT INTO energy_usage_points ({", ".join(POINT_COLUMNS)})
SELECT g.site_id, g.direction, p.ts, $1, g.device_id, g.meter_point_id, p.kwh, p.kwh IS NULL,
       CASE WHEN g.report_id IS NOT NULL THEN p.kwh END,
       CASE WHEN p.kwh IS NOT NULL THEN g.report_id END, $2
FROM unnest($3::int4[], $4::int8[], $5::float8[]) AS p(k, ts, kwh)
JOIN unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY
    AS g(site_id, direction, device_id, meter_point_id, report_id, k) ON g.k = p.k
"""
"""New points as :class:`FreshPoints` holds them: the values of each group once, three numbers
per point."""


@dataclass(slots=True)
class FreshPoints:
    """Points not stored before, in groups of one site and direction: a group's points share
    everything but their start and value. A group's ``report_id`` (import points only) is
    that of the report carrying its values: each point with a value is reported with it."""

    groups: list[tuple[str, str, str, str | None, str | None]] = field(default_factory=list)
    """(site, direction, device, meter point id, report id)."""
    group: list[int] = field(default_factory=list)
    """Per point: its group, counted from 1."""
    ts: list[int] = field(default_factory=list)
    kwh: list[float | None] = field(default_factory=list)
    """None: flagged."""

    def add(self, site_id: str, direction: str, device_id: str, meter_point_id: str | None,
            report_id: str | None, starts: Sequence[int], kwhs: Sequence[float | None]) -> None:
        self.groups.append((site_id, direction, device_id, meter_point_id, report_id))
        self.group.extend(itertools.repeat(len(self.groups), len(starts)))
        self.ts.extend(starts)
        self.kwh.extend(kwhs)

    def rows(self, interval_s: int, now: datetime) -> list[tuple[Any, ...]]:
        """The points as rows in :data:`POINT_COLUMNS` order."""
        out = []
        for k, ts, kwh in zip(self.group, self.ts, self.kwh, strict=True):
            site_id, direction, device_id, meter_point_id, report_id = self.groups[k - 1]
            reported = kwh is not None and report_id is not None
            out.append((site_id, direction, ts, interval_s, device_id, meter_point_id, kwh, kwh is None,
                        kwh if reported else None, report_id if reported else None, now))
        return out


async def write_points(connection: AsyncConnection, fresh: FreshPoints, changed: Sequence[tuple[Any, ...]],
                       *, interval_s: int, now: datetime) -> None:
    """Store points: ``fresh`` ones were not stored before (on PostgreSQL inserted from arrays of
    three numbers per point; should one be there after all, the insert is undone and they are
    upserted), ``changed`` ones (tuples in :data:`POINT_COLUMNS` order) are upserted."""
    if is_postgres(connection):
        raw = await _driver(connection)
        if fresh.ts:
            await raw.execute("SAVEPOINT energy_points_fresh")
            try:
                await raw.execute(_INSERT_FRESH_PG, interval_s, now, fresh.group, fresh.ts, fresh.kwh,
                                  *(list(c) for c in zip(*fresh.groups, strict=True)))
            except asyncpg.UniqueViolationError:
                await raw.execute("ROLLBACK TO SAVEPOINT energy_points_fresh")
                changed = [*fresh.rows(interval_s, now), *changed]
            else:
                await raw.execute("RELEASE SAVEPOINT energy_points_fresh")
        if changed:
            await raw.execute(_UPSERT_PG, *(list(c) for c in zip(*changed, strict=True)))
        return
    rows = [*fresh.rows(interval_s, now), *changed]
    if not rows:
        return
    table = table_of(EnergyPointRow)
    statement = dialect_insert(connection, table)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={c: statement.excluded[c] for c in POINT_COLUMNS if c not in _KEY}),
        [dict(zip(POINT_COLUMNS, row, strict=True)) for row in rows])
