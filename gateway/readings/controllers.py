"""Meter readings: ``POST /v1/readings`` (bulk ingest) and ``GET /v1/devices/{id}/readings``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from sqlalchemy import and_, func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.errors import InvalidError, TooLargeError
from gateway.core.obis import ObisError, parse
from gateway.core.wire import Wire
from gateway.customers import reads
from gateway.http.deps import provide_session
from gateway.http.pages import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, encode_cursor
from gateway.http.scopes import READ, WRITE_READINGS
from gateway.http.unit_of_work import write
from gateway.observability.metrics import count_readings
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import READINGS_QUEUE
from gateway.readings.ingest import IngestResult, ReadingsBody, decode_items, epoch_seconds, ingest
from gateway.readings.service import ReadingDelivery, delivery_of
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import OutboxTaskRow


class ReadingRead(Wire):
    obis_code: str
    timestamp: datetime
    value: float
    received_at: datetime
    delivery: ReadingDelivery


async def read_limited(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"the body may be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"the body may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ReadingsController(Controller):
    path = "/v1/readings"
    tags = ["readings"]

    @post(
        "/", opt={**WRITE_READINGS, "body": ReadingsBody}, status_code=202, request_max_body_size=None,
        summary="Store up to 10,000 meter readings; each item is accepted or refused on its own",
        description=(
            "Items name the device by `deviceId` or `deviceExternalRef`. `timestamp` is ISO 8601 "
            "with a UTC offset, or epoch seconds; numbers of 100,000,000,000 and more are read as "
            "epoch milliseconds. Readings are kept per second and are unique per (device, OBIS code, "
            "timestamp): a repeat counts as a duplicate. Refused per item: NaN or infinite values, "
            "unknown or deleted devices, devices that are not meters, OBIS codes whose medium is not "
            "the meter's, codes Zählerfreunde does not take (for its customers) and timestamps more "
            "than GATEWAY_READINGS_FUTURE_TOLERANCE_S in the future. Readings of meters whose "
            "customer is enrolled at Zählerfreunde are delivered there; readings of other "
            "customers are stored only (delivery status `not_sent`). The body limit is "
            "GATEWAY_READINGS_MAX_BODY_BYTES. The handler reads the body itself (streamed, "
            "items checked one by one), so the body schema is documented rather than decoded "
            "up front."
        ),
    )
    async def create(self, request: Request[Any, Any, Any]) -> Response[IngestResult]:
        settings = request.app.state.settings
        body = await read_limited(request, settings.readings.max_body_bytes)
        items, errors = decode_items(body)

        outcome: list[IngestResult] = []

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            result: IngestResult = await ingest(
                session, planner, items, errors, batch_size=settings.readings.batch_size,
                future_tolerance_s=settings.readings.future_tolerance_s,
                linger_s=settings.readings.linger_s)
            outcome.append(result)
            return 202, result

        response = await write(request, body, work)
        if outcome:  # not a replay of an earlier request
            count_readings("accepted", outcome[0].accepted)
            count_readings("rejected", outcome[0].rejected)
        return response


EPOCH_RANGE = range(0, 253_402_300_800)
"""Epoch seconds a reading's time may have: 1970-01-01 up to the end of year 9999."""


def _cursor_key(cursor: str) -> tuple[int, str]:
    """The (epoch second, OBIS code) after which a page of readings starts."""
    ts, obis_code = decode_cursor(cursor, int, str)
    if ts not in EPOCH_RANGE or not obis_code:
        raise InvalidError("cursor is not one this API handed out", field="cursor")
    return ts, obis_code


def _bound(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        seconds = int(value) if value.lstrip("-").isdigit() else epoch_seconds(value)
    except (ValueError, OverflowError) as exc:
        raise InvalidError(str(exc), field=name) from None
    if seconds not in EPOCH_RANGE:
        raise InvalidError(f"{name} must lie between 1970 and the end of year 9999", field=name)
    return seconds


class DeviceReadingsController(Controller):
    path = "/v1/devices/{device_id:str}/readings"
    tags = ["readings"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="A device's stored readings with their delivery status, oldest first")
    async def list_readings(
        self,
        session: AsyncSession,
        device_id: str,
        from_: Annotated[str | None,
                         QueryParameter(name="from", description="ISO 8601 or epoch s, inclusive")] = None,
        to: Annotated[str | None, Parameter(description="ISO 8601 or epoch s, exclusive")] = None,
        obis_code: Annotated[str | None, QueryParameter(name="obisCode", max_length=50)] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ReadingRead]:
        await reads.get_device(session, device_id)
        r, b, t = ReadingRow, ReadingBatchRow, OutboxTaskRow
        query = (
            select(col(r.obis_code), col(r.ts), col(r.value), col(r.received_at),
                   func.coalesce(r.delivered_at, b.delivered_at).label("delivered_at"), col(r.batch_id),
                   col(t.status), col(t.last_error))
            .outerjoin(b, col(b.id) == r.batch_id)
            .outerjoin(t, and_(col(t.entity_id) == r.batch_id, col(t.provider) == READINGS_QUEUE))
            .where(col(r.device_id) == device_id)
        )
        start, end = _bound(from_, "from"), _bound(to, "to")
        if start is not None:
            query = query.where(col(r.ts) >= start)
        if end is not None:
            query = query.where(col(r.ts) < end)
        if obis_code is not None:
            try:
                query = query.where(col(r.obis_code) == parse(obis_code).normal)
            except ObisError as exc:
                raise InvalidError(str(exc), field="obisCode") from None
        if cursor:
            ts, last = _cursor_key(cursor)
            query = query.where(or_(col(r.ts) > ts, and_(col(r.ts) == ts, col(r.obis_code) > last)))
        rows = (await session.execute(query.order_by(col(r.ts), col(r.obis_code)).limit(limit + 1))).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            ReadingRead(obis_code=row.obis_code, timestamp=datetime.fromtimestamp(row.ts, UTC),
                        value=row.value, received_at=as_utc(row.received_at),
                        delivery=delivery_of(row.delivered_at, row.batch_id, row.status, row.last_error))
            for row in rows
        ]
        next_cursor = encode_cursor(rows[-1].ts, rows[-1].obis_code) if more else None
        return Page(items=items, next_cursor=next_cursor)
