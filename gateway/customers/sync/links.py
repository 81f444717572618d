"""Entity sync's writes to the provider links after a round: synced, deleted, failed or retrying.

On PostgreSQL one statement over ``unnest`` of column arrays per layer of changes; elsewhere one
executemany per kind of change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Integer, String, TextClause, bindparam, case, or_, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import SyncStatus
from gateway.store.db import on_postgres
from gateway.store.tables import UTC_DATETIME, ProviderLinkRow, table_of


def _unnest_sql(statement: str, arrays: Mapping[str, Any]) -> TextClause:
    """Text SQL with typed array parameters and ``now`` as a timestamp with time zone."""
    params = [bindparam(name, type_=ARRAY(item)) for name, item in arrays.items()]
    return text(statement).bindparams(*params, bindparam("now", type_=UTC_DATETIME))


_LINKS = _unnest_sql(f"""
UPDATE provider_links l SET
    status = CASE
        WHEN u.change = 'upserted' AND l.status NOT IN ('{SyncStatus.DELETING}', '{SyncStatus.DELETED}')
            THEN '{SyncStatus.SYNCED}'
        WHEN u.change = 'deleted' THEN '{SyncStatus.DELETED}'
        WHEN u.change = 'failed' THEN u.status
        ELSE l.status END,
    external_id = CASE WHEN u.change = 'upserted' THEN u.external ELSE l.external_id END,
    synced_at = CASE WHEN u.change IN ('upserted', 'deleted') THEN :now ELSE l.synced_at END,
    attempts = u.attempts, last_error = u.error, updated_at = :now
FROM unnest(CAST(:entities AS text[]), CAST(:providers AS text[]), CAST(:changes AS text[]),
            CAST(:statuses AS text[]), CAST(:externals AS text[]), CAST(:attempts AS int[]),
            CAST(:errors AS text[]))
     AS u(entity_id, provider, change, status, external, attempts, error)
WHERE l.entity_id = u.entity_id AND l.provider = u.provider
""", {"entities": String, "providers": String, "changes": String, "statuses": String,
      "externals": String, "attempts": Integer, "errors": String})
"""A round's link changes: ``upserted`` (synced, unless a delete queued meanwhile keeps it
deleting or deleted, with the provider's id), ``deleted``, ``failed`` (to ``status``) and
``retrying`` (status kept); attempts and last error always."""

LINK_CHANGES = ("upserted", "deleted", "failed", "retrying")


async def _update_links_postgres(session: AsyncSession, changes: Sequence[Mapping[str, Any]],
                                 now: datetime) -> None:
    """Write link changes (``entity``, ``provider``, ``change``, ``status``, ``external``,
    ``attempts``, ``error``), in order: a link named twice gets its changes one statement
    after the other, so the later one wins as it would row by row."""
    layers: list[list[Mapping[str, Any]]] = []
    seen: dict[tuple[str, str], int] = {}
    for item in changes:
        key = (item["entity"], item["provider"])
        depth = seen.get(key, 0)
        seen[key] = depth + 1
        if depth == len(layers):
            layers.append([])
        layers[depth].append(item)
    for layer in layers:
        await session.execute(_LINKS, {
            "entities": [i["entity"] for i in layer], "providers": [i["provider"] for i in layer],
            "changes": [i["change"] for i in layer], "statuses": [i["status"] for i in layer],
            "externals": [i["external"] for i in layer], "attempts": [i["attempts"] for i in layer],
            "errors": [i["error"] for i in layer], "now": now})


async def update_links(session: AsyncSession, changes: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Write a round's link changes (``entity``, ``provider``, ``change`` (one of
    :data:`LINK_CHANGES`), ``status``, ``external``, ``attempts``, ``error``), in order."""
    if not changes:
        return
    if on_postgres(session):
        await _update_links_postgres(session, changes, now)
        return
    table = table_of(ProviderLinkRow)
    keep_if_deleting = or_(table.c.status == SyncStatus.DELETING.value,
                           table.c.status == SyncStatus.DELETED.value)
    base = update(table).where(table.c.entity_id == bindparam("l_entity"),
                               table.c.provider == bindparam("l_provider"))
    common: dict[str, Any] = {"attempts": bindparam("l_attempts"), "last_error": bindparam("l_error"),
                              "updated_at": bindparam("l_now")}
    statements = {
        # an upsert done: synced, unless a delete queued meanwhile keeps it "deleting"
        "upserted": base.values(
            status=case((keep_if_deleting, table.c.status), else_=SyncStatus.SYNCED.value),
            external_id=bindparam("l_external"), synced_at=bindparam("l_synced"), **common),
        "deleted": base.values(status=SyncStatus.DELETED.value,
                               synced_at=bindparam("l_synced"), **common),
        "failed": base.values(status=bindparam("l_status"), **common),
        "retrying": base.values(**common),
    }
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for item in changes:
        synced = now if item["change"] in ("upserted", "deleted") else None
        groups[item["change"]].append({
            "l_entity": item["entity"], "l_provider": item["provider"], "l_status": item["status"],
            "l_external": item["external"], "l_attempts": item["attempts"], "l_error": item["error"],
            "l_synced": synced, "l_now": now})
    for name, items in groups.items():
        await session.execute(statements[name], items)
