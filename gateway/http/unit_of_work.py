"""One API write = one unit of work: canonical rows, outbox tasks and the idempotency record.

After the commit the dispatcher is told about the new tasks (the fast path);
if that wake-up is lost the relay finds the tasks anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.errors import IdempotencyMismatch, InvalidError
from gateway.http.deps import principal_of
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.unit_of_work import unit_of_work
from gateway.store.tables import IdempotencyKeyRow

Work = Callable[[AsyncSession, OutboxPlanner], Awaitable[tuple[int, Any]]]


def _json(status: int, payload: Any) -> Response[bytes]:
    return Response(msgspec.json.encode(payload), status_code=status, media_type="application/json")


async def write(request: Request[Any, Any, Any], body: bytes, work: Work) -> Response[bytes]:
    """Run ``work`` in a transaction honouring ``Idempotency-Key``; return its JSON response."""
    state = request.app.state
    raw_key = request.headers.get("idempotency-key")
    key = None
    digest = ""
    if raw_key is not None:
        if not 1 <= len(raw_key) <= 200:
            raise InvalidError("Idempotency-Key must be 1 to 200 characters", field="Idempotency-Key")
        key = f"{principal_of(request).key_id}:{raw_key}"
        digest = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
        ).hexdigest()
    now = utcnow()
    ttl_s = state.settings.http.idempotency_ttl_s
    committing = False
    try:
        async with unit_of_work(state.sessions, state.dispatcher, now=now) as uow:
            if key is not None:
                replay = await _replay(uow.session, key, digest, now, ttl_s)
                if replay is not None:
                    return replay
            status, payload = await work(uow.session, uow.planner)
            encoded = msgspec.json.encode(payload)
            if key is not None:
                await uow.session.merge(IdempotencyKeyRow(key=key, request_hash=digest, status_code=status,
                                                          body=encoded, created_at=now))
            committing = True
    except IntegrityError:
        # the same key committed by a concurrent request first: answer with its response
        if not committing or key is None:
            raise
        async with state.sessions() as session:
            replay = await _replay(session, key, digest, now, ttl_s)
        if replay is not None:
            return replay
        raise
    return Response(encoded, status_code=status, media_type="application/json",
                    headers={"Idempotent-Replayed": "false"} if key else None)

async def _replay(
    session: AsyncSession, key: str, digest: str, now: Any, ttl_s: int
) -> Response[bytes] | None:
    row = await session.get(IdempotencyKeyRow, key)
    if row is None:
        return None
    created = as_utc(row.created_at)
    if created is not None and created < now - timedelta(seconds=ttl_s):
        await session.delete(row)
        await session.flush()
        return None
    if row.request_hash != digest:
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with a different request body", field="Idempotency-Key"
        )
    return Response(row.body, status_code=row.status_code, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"})
