"""What the records of an answer wait on upstream, for their ``sync`` member: when a failed
change is sent again (``retrying``, ``nextAttemptAt``) and the provider's circuit while it is
not closed. Read only when some link of the answer has work waiting or failed before, so a
record at rest costs no extra query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import SyncStatus
from gateway.customers import reads
from gateway.customers.service import circuit_views
from gateway.store.tables import ProviderLinkRow

_UNSETTLED = frozenset({SyncStatus.PENDING.value, SyncStatus.DELETING.value})
_NOT_CLOSED = frozenset({"open", "half-open"})

Link = ProviderLinkRow | reads.LinkView


def _unsettled(links: Iterable[Link]) -> bool:
    return any(link.status in _UNSETTLED or link.last_error is not None for link in links)


async def waiting_of(conn: AsyncConnection | AsyncSession, state: State,
                     links: Mapping[str, Sequence[Link]]) -> reads.Waiting:
    """The :class:`~gateway.customers.reads.Waiting` of the records whose links are ``links``
    (by record id)."""
    ids = [entity_id for entity_id, own in links.items() if _unsettled(own)]
    if not ids:
        return reads.NOT_WAITING
    circuits = {view.provider: view.state for view in await circuit_views(state)
                if view.state in _NOT_CLOSED}
    return reads.Waiting(next_tries=await reads.next_tries(conn, ids), circuits=circuits)
