"""``GET /v1/events`` and ``GET /v1/events/{id}``: Volue events with their resolved targets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter, QueryParameter
from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.errors import InvalidError, NotFoundError
from gateway.events.service import SUBSCRIBABLE_TYPES, EventRead, event_read
from gateway.http.deps import provide_session
from gateway.http.pages import (
    DEFAULT_LIMIT,
    TIME_AND_ID,
    Cursor,
    Limit,
    Page,
    after,
    decode_cursor,
    page_of,
)
from gateway.http.scopes import READ
from gateway.store.event_tables import VolueEventRow, VolueEventTargetRow


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="Volue events, newest first")
    async def list_events(
        self,
        session: AsyncSession,
        type_: Annotated[str | None, QueryParameter(
            name="type", pattern="^(" + "|".join(SUBSCRIBABLE_TYPES) + ")$")] = None,
        customer_id: Annotated[str | None, QueryParameter(name="customerId", max_length=36)] = None,
        site_id: Annotated[str | None, QueryParameter(name="siteId", max_length=36)] = None,
        since: Annotated[str | None, Parameter(
            description="received at or after (ISO 8601 with a UTC offset)", pattern=SINCE_PATTERN,
            max_length=40)] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[EventRead]:
        if type_ is not None and type_ not in SUBSCRIBABLE_TYPES:
            raise InvalidError(f"type must be one of {', '.join(SUBSCRIBABLE_TYPES)}", field="type")
        after_time = _moment(since) if since is not None else None
        query = select(VolueEventRow)
        if type_ is not None:
            query = query.where(VolueEventRow.type == type_)
        if after_time is not None:
            query = query.where(col(VolueEventRow.received_at) >= after_time)
        target = VolueEventTargetRow
        if customer_id is not None:
            query = query.where(exists().where(col(target.event_id) == VolueEventRow.id,
                                               col(target.customer_id) == customer_id))
        if site_id is not None:
            query = query.where(exists().where(col(target.event_id) == VolueEventRow.id,
                                               col(target.site_id) == site_id))
        order = [col(VolueEventRow.received_at), col(VolueEventRow.id)]
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID), descending=True))
        query = query.order_by(*(column.desc() for column in order)).limit(limit + 1)
        rows = list(await session.exec(query))
        targets = await _targets(session, [row.id for row in rows[:limit]])
        return page_of(rows, limit, lambda row: (row.received_at, row.id),
                       lambda row: event_read(row, targets.get(row.id, [])))

    @get("/{event_id:str}", opt=READ, summary="One Volue event")
    async def read_event(self, session: AsyncSession, event_id: str) -> EventRead:
        row = await session.get(VolueEventRow, event_id)
        if row is None:
            raise NotFoundError(f"event {event_id} not found")
        return event_read(row, (await _targets(session, [row.id])).get(row.id, []))


SINCE_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                 r"(Z|[+-][0-9]{2}:[0-9]{2})$")


def _moment(since: str) -> datetime:
    """``since`` as a time with a zone; 400 naming it otherwise."""
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidError("since must be an ISO 8601 time with a UTC offset (e.g. 2025-01-01T00:00:00Z)",
                           field="since")
    return moment


async def _targets(session: AsyncSession, ids: list[str]) -> dict[str, list[VolueEventTargetRow]]:
    found: dict[str, list[VolueEventTargetRow]] = {}
    if not ids:
        return found
    rows = await session.exec(
        select(VolueEventTargetRow)
        .where(col(VolueEventTargetRow.event_id).in_(ids))
        .order_by(col(VolueEventTargetRow.id))
    )
    for row in rows:
        found.setdefault(row.event_id, []).append(row)
    return found
