"""One API write = one unit of work: canonical rows, outbox tasks and the idempotency record.

A write carrying ``Idempotency-Key`` reserves the key before its work, with an insert of
its own that does nothing when the key is taken, so of concurrent copies of one request
exactly one runs. The others wait (``idempotency_wait_s``) for its response and replay
it, or answer 409 ``idempotency-in-progress`` with ``Retry-After``. The response is stored
in the work's transaction, fenced by the reservation's holder; a write that fails releases
the key, and a reservation left by a crashed request expires after
``idempotency_reservation_s``, when the next copy runs the work. A write that fails because
the database went away (answered 503) cannot release its key at once: it keeps trying in the
background, so the client's retry with the same key runs the work as soon as the database is
back (or replays the answer, if the transaction had committed before the connection was lost).

After the commit the dispatcher is told about the new tasks (the fast path);
if that wake-up is lost the relay finds the tasks anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.errors import IdempotencyMismatch, InvalidError
from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import HttpSettings
from gateway.http.deps import principal_of
from gateway.http.problems import problem_response
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.unit_of_work import unit_of_work
from gateway.runtime.process import Runtime
from gateway.store.db import Availability, availability, dialect_insert, on_postgres, unavailable_reason
from gateway.store.tables import IdempotencyKeyRow, table_of

Work = Callable[[AsyncSession, OutboxPlanner], Awaitable[tuple[int, Any]]]
Sessions = async_sessionmaker[AsyncSession]

POLL_S = 0.05
"""How often a copy of a request in progress looks for its response."""
RETRY_AFTER_S = 1
"""What a 409 ``idempotency-in-progress`` asks the caller to wait before sending the copy again."""
RELEASE_RETRY_S = 0.5
"""How often a key whose write failed with the database away is tried to be released again..."""
RELEASE_WHILE_DOWN_S = 5.0
"""... and how often while the database is still known to be away (others' connections tell
when it is back)."""

log = logging.getLogger("gateway.api")
_releasing: set[asyncio.Task[None]] = set()
"""Background releases in progress (kept referenced until they end)."""


class _ReservationLost(Exception):
    """The key's reservation expired while the work ran and another copy holds it now."""


async def write(
    request: Request[Any, Any, Any], body: bytes, work: Work, *, seal: SecretsBox | None = None
) -> Response[Any]:
    """Run ``work`` in a transaction honouring ``Idempotency-Key``; return its JSON response.

    ``body`` is the raw request body (``await request.body()``, cached by Litestar after it
    decoded the handler's ``data``), which the key's request hash covers.
    ``seal`` encrypts the response kept for replays, for responses that carry a secret.
    """
    runtime = Runtime.of(request)
    raw_key = request.headers.get("idempotency-key")
    if raw_key is None:
        async with unit_of_work(runtime.sessions, runtime.dispatcher) as uow:
            status, payload = await work(uow.session, uow.planner)
            encoded = msgspec.json.encode(payload)
        return Response(encoded, status_code=status, media_type="application/json")
    if not 1 <= len(raw_key) <= 200:
        raise InvalidError("Idempotency-Key must be 1 to 200 characters", field="Idempotency-Key")
    key = f"{principal_of(request).key_id}:{raw_key}"
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    settings: HttpSettings = runtime.settings.http
    holder = str(uuid.uuid4())
    health = availability(runtime.engine)

    def release_later() -> None:
        _release_later(runtime.sessions, key, holder, within_s=settings.idempotency_reservation_s,
                       health=health)

    reserved = await _reserve(runtime.sessions, key, digest, holder, settings=settings, seal=seal,
                              instance=request.url.path, release_later=release_later)
    if isinstance(reserved, Response):
        return reserved
    try:
        async with unit_of_work(runtime.sessions, runtime.dispatcher) as uow:
            if on_postgres(uow.session):
                await _fence(uow.session, key, holder)
            status, payload = await work(uow.session, uow.planner)
            encoded = msgspec.json.encode(payload)
            kept = encoded if seal is None else seal.seal(encoded.decode()).encode()
            await _complete(uow.session, key, holder, status, kept, uow.planner.now)
    except _ReservationLost:
        return _in_progress(request.url.path)
    except BaseException:
        try:
            await _release(runtime.sessions, key, holder)
        except Exception as exc:
            if unavailable_reason(exc) is None:
                raise
            release_later()
        raise
    return Response(encoded, status_code=status, media_type="application/json",
                    headers={"Idempotent-Replayed": "false"})


async def _reserve(
    sessions: Sessions, key: str, digest: str, holder: str, *, settings: HttpSettings,
    seal: SecretsBox | None, instance: str, release_later: Callable[[], None],
) -> str | Response[bytes]:
    """Hold ``key`` for this request as ``holder`` (returned), or the response to answer instead.

    When the database goes away after a reservation was written (its commit may have landed
    before the connection was lost), ``release_later`` is called before the error is raised.
    """
    wrote: list[bool] = []
    try:
        return await _reserve_once_free(sessions, key, digest, holder, settings=settings, seal=seal,
                                        instance=instance, wrote=wrote)
    except Exception as exc:
        if wrote and unavailable_reason(exc) is not None:
            release_later()
        raise


async def _reserve_once_free(
    sessions: Sessions, key: str, digest: str, holder: str, *, settings: HttpSettings,
    seal: SecretsBox | None, instance: str, wrote: list[bool],
) -> str | Response[bytes]:
    deadline = time.monotonic() + settings.idempotency_wait_s
    ttl = timedelta(seconds=settings.idempotency_ttl_s)
    reservation = timedelta(seconds=settings.idempotency_reservation_s)
    while True:
        now = utcnow()
        async with sessions() as session:
            row = await session.get(IdempotencyKeyRow, key)
        if row is None:
            wrote.append(True)
            if await _insert_reservation(sessions, key, digest, holder, now):
                return holder
            continue
        created = as_utc(row.created_at)
        if row.status_code is not None and row.body is not None:
            if created < now - ttl:
                await _forget(sessions, key, now - ttl)
                continue
            if row.request_hash != digest:
                raise _mismatch()
            kept = row.body if seal is None else seal.open(row.body.decode()).encode()
            return Response(kept, status_code=row.status_code, media_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
        if row.request_hash != digest:
            raise _mismatch()
        if created < now - reservation:
            wrote.append(True)
            if await _take_over(sessions, key, row.holder, holder, now):
                return holder
        if time.monotonic() >= deadline:
            return _in_progress(instance)
        await asyncio.sleep(POLL_S)


async def _insert_reservation(
    sessions: Sessions, key: str, digest: str, holder: str, now: datetime
) -> bool:
    """Write the reservation in a transaction of its own; False when the key exists already."""
    table = table_of(IdempotencyKeyRow)
    async with sessions() as session:
        inserted = (await session.execute(
            dialect_insert(session, table)
            .values(key=key, request_hash=digest, holder=holder, created_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key)
        )).first()
        await session.commit()
    return inserted is not None


async def _take_over(
    sessions: Sessions, key: str, expired: str | None, holder: str, now: datetime
) -> bool:
    """Move an expired reservation to ``holder``, unless its holder answered or moved first."""
    table = table_of(IdempotencyKeyRow)
    async with sessions() as session:
        taken = (await session.execute(
            update(table)
            .where(table.c.key == key, table.c.holder == expired, table.c.status_code.is_(None))
            .values(holder=holder, created_at=now)
            .returning(table.c.key)
        )).first()
        await session.commit()
    return taken is not None


async def _forget(sessions: Sessions, key: str, stored_before: datetime) -> None:
    """Delete the response kept for ``key`` if it was stored before ``stored_before``."""
    table = table_of(IdempotencyKeyRow)
    async with sessions() as session:
        await session.execute(delete(table).where(
            table.c.key == key, table.c.status_code.is_not(None), table.c.created_at < stored_before))
        await session.commit()


async def _fence(session: AsyncSession, key: str, holder: str) -> None:
    """Open the work's transaction on PostgreSQL by locking the reservation (raise when it
    moved on): a statement the work sends straight through the driver (``FreshTrees``'s
    one-statement insert) is then part of the transaction, not committed on its own before
    the response is stored, which would leave a record without its kept answer (a retry after
    a lost connection would be refused as a conflict with itself)."""
    table = table_of(IdempotencyKeyRow)
    held = (await session.execute(
        update(table)
        .where(table.c.key == key, table.c.holder == holder, table.c.status_code.is_(None))
        .values(holder=holder)
        .returning(table.c.key)
    )).first()
    if held is None:
        raise _ReservationLost(key)


async def _complete(
    session: AsyncSession, key: str, holder: str, status: int, body: bytes, now: datetime
) -> None:
    """Store the response in the work's transaction; raise when the reservation moved on."""
    table = table_of(IdempotencyKeyRow)
    stored = (await session.execute(
        update(table)
        .where(table.c.key == key, table.c.holder == holder, table.c.status_code.is_(None))
        .values(status_code=status, body=body, holder=None, created_at=now)
        .returning(table.c.key)
    )).first()
    if stored is None:
        raise _ReservationLost(key)


async def _release(sessions: Sessions, key: str, holder: str) -> None:
    """Give the key back after a failed write, so the corrected request can use it."""
    table = table_of(IdempotencyKeyRow)
    async with sessions() as session:
        await session.execute(delete(table).where(table.c.key == key, table.c.holder == holder))
        await session.commit()


def _release_later(
    sessions: Sessions, key: str, holder: str, *, within_s: float, health: Availability | None
) -> None:
    """Release ``key`` from ``holder`` in the background once the database answers again,
    trying for at most ``within_s`` (after that the reservation has expired anyway).

    Only requests in flight when the database went away start one (a request refused before
    it wrote anything does not), and while ``health`` says the database is still away each
    tries only every :data:`RELEASE_WHILE_DOWN_S`, so they add no load to a recovering server.
    """
    task = asyncio.get_running_loop().create_task(
        _keep_releasing(sessions, key, holder, within_s, health))
    _releasing.add(task)
    task.add_done_callback(_releasing.discard)


async def _keep_releasing(
    sessions: Sessions, key: str, holder: str, within_s: float, health: Availability | None
) -> None:
    deadline = time.monotonic() + within_s
    last_try = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(RELEASE_RETRY_S)
        if health is not None and health.down and time.monotonic() - last_try < RELEASE_WHILE_DOWN_S:
            continue
        last_try = time.monotonic()
        try:
            await _release(sessions, key, holder)
            return
        except Exception as exc:
            if unavailable_reason(exc) is None:
                log.warning("releasing an Idempotency-Key failed (%s: %s); its reservation expires "
                            "instead", type(exc).__name__, exc)
                return


def _mismatch() -> IdempotencyMismatch:
    return IdempotencyMismatch(
        "this Idempotency-Key was used with a different request body", field="Idempotency-Key"
    )


def _in_progress(instance: str) -> Response[bytes]:
    return problem_response(
        409, "Request with this Idempotency-Key in progress",
        "a request with this Idempotency-Key is still being processed; send it again later "
        "to receive its response", slug="idempotency-in-progress",
        instance=instance, headers={"Retry-After": str(RETRY_AFTER_S)},
    )
