"""Drift reconciliation: compare the records with what a provider holds, mark, repair.

* :func:`compare` reads the records enrolled at the provider and their links, asks the
  adapter what each synced record's object should look like there
  (``Inventory.expected_fields``, from the same operations the sync engine would send),
  lists what the provider holds (``Inventory.holdings``) and returns a
  :class:`~gateway.reconcile.report.DriftReport`: objects missing, unexpected and
  differing. Records with work under way (a link pending, failed, blocked or deleting)
  are left out, since what the provider holds of them is about to change.
* :func:`record_drift` marks the links of missing and differing records ``drifted`` (only
  links nothing has touched since the comparison began), puts links found clean again back
  to ``synced``, and emits ``drift.found`` events, in one transaction.
* :func:`repair` queues through the outbox what brings the provider back in step: an
  upsert of every missing or differing record at that provider (children after their
  parents: a missing user's locations and resources, a missing space's devices), and a
  delete of an object a deleted record left behind. Objects no record accounts for are
  reported, never deleted: they may be the partner's own.
* **Enrollment** (a provider with a programme: Volue): every compared customer's
  ``GET /users/{id}/enrollment`` decides its membership's state. A membership believed
  enrolled that Volue does not hold, or the reverse (a failed wish counts as not carried
  out), is a ``differing`` item of entity type ``enrollment`` (field ``isEnrolled``);
  :func:`record_drift` sets the membership to what Volue holds (unless the membership
  changed since the comparison began) and emits ``drift.found``; :func:`repair` queues the
  caller's wish again where it now differs from that (a customer no caller enrolled or took
  out keeps what Volue holds). Memberships with a wish under way
  (``pending``) and answers that do not say are left out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import (
    DeviceKind,
    EntityType,
    ProgrammeStatus,
    Provider,
    SyncStatus,
    TaskAction,
    TaskStatus,
)
from gateway.customers.planning import plan_entity_upsert
from gateway.customers.sync.context import prepare
from gateway.customers.sync.targets import targets
from gateway.observability.metrics import observe_drift
from gateway.outbox.dispatch import Dispatcher
from gateway.outbox.outcomes import OutcomeType, OwnEvent, about_entity, emit
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.unit_of_work import unit_of_work
from gateway.programmes import service as programmes
from gateway.reconcile.report import Drift, DriftItem, DriftReport, RepairResult
from gateway.reconcile.runs import keep_run
from gateway.store.db import chunked
from gateway.store.programme_tables import ProgrammeMembershipRow
from gateway.store.tables import CustomerRow, DeviceRow, OutboxTaskRow, ProviderLinkRow, SiteRow, table_of
from providers.base import Capability, Enrollment, Held, Operation, ProviderError, RejectedError
from providers.registry import Adapters, MissingCapability

log = logging.getLogger("gateway.reconcile")
COMPARED = (SyncStatus.SYNCED.value, SyncStatus.DRIFTED.value)
"""Link statuses whose records are compared: what the gateway believes is upstream now."""
_ORDER = {EntityType.CUSTOMER.value: 0, EntityType.SITE.value: 1, EntityType.DEVICE.value: 2}
ENROLLMENT = "enrollment"
"""A drift item's entity type for a customer's membership of the provider's programme."""
ENROLLMENT_READS_AT_ONCE = 8

Row = CustomerRow | SiteRow | DeviceRow


class _Snapshot:
    """The records enrolled at one provider and their links there, read in one transaction."""

    def __init__(self) -> None:
        self.customers: dict[str, CustomerRow] = {}
        self.rows: dict[str, tuple[EntityType, Row]] = {}
        self.links: dict[str, ProviderLinkRow] = {}


async def _snapshot(session: AsyncSession, provider: Provider) -> _Snapshot:
    snap = _Snapshot()
    for customer in await session.exec(select(CustomerRow).where(col(CustomerRow.deleted_at).is_(None))):
        if provider.value in customer.providers:
            snap.customers[customer.id] = customer
            snap.rows[customer.id] = (EntityType.CUSTOMER, customer)
    for site in await session.exec(select(SiteRow).where(col(SiteRow.deleted_at).is_(None))):
        if site.customer_id in snap.customers:
            snap.rows[site.id] = (EntityType.SITE, site)
    for device in await session.exec(select(DeviceRow).where(col(DeviceRow.deleted_at).is_(None))):
        if device.customer_id in snap.customers:
            snap.rows[device.id] = (EntityType.DEVICE, device)
    links = select(ProviderLinkRow).where(col(ProviderLinkRow.provider) == provider.value)
    for link in await session.exec(links):
        snap.links[link.entity_id] = link
    return snap


def _held_here(snap: _Snapshot, provider: Provider, entity_id: str) -> bool:
    entity_type, row = snap.rows[entity_id]
    customer = snap.customers[row.id if isinstance(row, CustomerRow) else row.customer_id]
    kind = DeviceKind(row.kind) if isinstance(row, DeviceRow) else None
    return provider in targets(customer.providers, entity_type, kind)


def _probe(provider: Provider, entity_type: EntityType, entity_id: str, customer_id: str,
           now: datetime) -> OutboxTaskRow:
    """A task that is never stored: what the engine would prepare to upsert the record now."""
    return OutboxTaskRow(id=f"reconcile:{entity_id}", provider=provider.value, entity_type=entity_type.value,
                         entity_id=entity_id, customer_id=customer_id, action=TaskAction.UPSERT.value,
                         status=TaskStatus.RUNNING.value, attempts=1, run_after=now, created_at=now,
                         updated_at=now)


async def _expected_operations(session: AsyncSession, provider: Provider, snap: _Snapshot,
                               ids: Sequence[str], now: datetime) -> dict[str, Operation]:
    operations: dict[str, Operation] = {}
    for part in chunked(ids):
        probes = []
        for entity_id in part:
            entity_type, row = snap.rows[entity_id]
            customer_id = row.id if isinstance(row, CustomerRow) else row.customer_id
            probes.append(_probe(provider, entity_type, entity_id, customer_id, now))
        prepared = await prepare(session, provider, probes)
        for probe in probes:
            op = prepared.operations.get(probe.id)
            if op is not None:
                operations[probe.entity_id] = op
    return operations


def _customer_of(row: Row) -> str:
    return row.id if isinstance(row, CustomerRow) else row.customer_id


async def compare(sessions: async_sessionmaker[AsyncSession], adapters: Adapters,
                  provider: Provider) -> DriftReport:
    """What ``provider`` holds, compared with the records the gateway believes are synced there.

    Raises ``MissingCapability`` when the provider is not configured or cannot list what it
    holds, and the adapter's ``ProviderError`` when a listing call fails.
    """
    inventory = adapters.inventory(provider)
    started = utcnow()
    async with sessions() as session:
        snap = await _snapshot(session, provider)
        compared: list[str] = []
        skipped = 0
        for entity_id in snap.rows:
            if not _held_here(snap, provider, entity_id):
                continue
            link = snap.links.get(entity_id)
            if link is not None and link.status in COMPARED and link.external_id is not None:
                compared.append(entity_id)
            else:
                skipped += 1
        compared.sort(key=lambda i: _ORDER[snap.rows[i][0].value])
        operations = await _expected_operations(session, provider, snap, compared, started)
    expected: dict[str, dict[str, Any]] = {}
    for entity_id, op in operations.items():
        try:
            expected[entity_id] = inventory.expected_fields(op)
        except RejectedError as exc:
            log.info("reconcile %s: %s %s has no object to compare: %s", provider.value,
                     op.entity_type.value, entity_id, exc.message)
    held = await inventory.holdings()
    by_id: dict[tuple[str, str], Held] = {(h.entity_type.value, h.external_id): h for h in held}
    items: list[DriftItem] = []
    accounted: set[tuple[str, str]] = set()
    for entity_id in compared:
        if entity_id not in expected:
            continue
        entity_type, row = snap.rows[entity_id]
        link = snap.links[entity_id]
        external_id = link.external_id or ""
        key = (entity_type.value, external_id)
        accounted.add(key)
        found = by_id.get(key)
        common: dict[str, Any] = {"entity_type": entity_type.value, "external_id": external_id,
                                  "entity_id": entity_id, "customer_id": _customer_of(row)}
        if found is None:
            items.append(DriftItem(drift=Drift.MISSING, expected=expected[entity_id], **common))
            continue
        # A field the provider left out of its answer (optional in its document) says nothing.
        differing = sorted(name for name, value in expected[entity_id].items()
                           if name in found.fields and found.fields[name] != value)
        if differing:
            items.append(DriftItem(drift=Drift.DIFFERING, fields=differing, expected=expected[entity_id],
                                   actual=found.fields, parent_external_id=found.parent_external_id,
                                   **common))
    # Anything linked to a live record, or named by one of our ids, is accounted for.
    for link in snap.links.values():
        if link.status != SyncStatus.DELETED.value and link.external_id is not None:
            accounted.add((link.entity_type, link.external_id))
        if link.status != SyncStatus.DELETED.value:
            accounted.add((link.entity_type, link.entity_id))
    deleted = {(link.entity_type, link.external_id): link for link in snap.links.values()
               if link.status == SyncStatus.DELETED.value and link.external_id is not None}
    strays = [h for h in held if (h.entity_type.value, h.external_id) not in accounted]
    accounted |= await _linked_since(sessions, provider, [h.external_id for h in strays])
    for h in sorted(strays, key=lambda h: (_ORDER[h.entity_type.value], h.external_id)):
        key = (h.entity_type.value, h.external_id)
        if key in accounted:
            continue
        gone = deleted.get(key)
        items.append(DriftItem(
            drift=Drift.UNEXPECTED, entity_type=h.entity_type.value, external_id=h.external_id,
            entity_id=gone.entity_id if gone is not None else None,
            parent_external_id=h.parent_external_id, actual=h.fields,
            note="its record was deleted" if gone is not None else "no record accounts for it"))
    customers = [i for i in compared if snap.rows[i][0] is EntityType.CUSTOMER]
    items += await _enrollment_drift(sessions, adapters, provider, customers)
    return DriftReport(provider=provider.value, checked_at=started, checked=len(compared), held=len(held),
                       skipped=skipped, items=items)


def _believed(row: ProgrammeMembershipRow | None) -> bool | None:
    """Whether the gateway believes the customer enrolled (None: a wish under way)."""
    if row is None:
        return False
    if row.status == ProgrammeStatus.PENDING.value:
        return None
    if row.status == ProgrammeStatus.FAILED.value:  # the wish was not carried out
        return row.wanted == ProgrammeStatus.NOT_ENROLLED.value
    return row.status == ProgrammeStatus.ENROLLED.value


async def _enrollment_drift(sessions: async_sessionmaker[AsyncSession], adapters: Adapters,
                            provider: Provider, customer_ids: Sequence[str]) -> list[DriftItem]:
    """Each customer's enrollment read back (``GET /users/{id}/enrollment``) against its
    membership; a customer whose read-back fails is logged and left out."""
    try:
        programme = adapters.programme(provider)
    except MissingCapability:
        return []
    memberships: dict[str, ProgrammeMembershipRow] = {}
    async with sessions() as session:
        m = ProgrammeMembershipRow
        for part in chunked(customer_ids):
            for row in await session.exec(select(m).where(
                    col(m.programme) == provider.value,
                    col(m.customer_id).in_(part))):
                memberships[row.customer_id] = row
    limit = asyncio.Semaphore(ENROLLMENT_READS_AT_ONCE)

    async def read(customer_id: str) -> DriftItem | None:
        believed = _believed(memberships.get(customer_id))
        if believed is None:
            return None
        async with limit:
            try:
                found = await programme.enrollment(customer_id)
            except ProviderError as exc:
                log.warning("reconcile %s: enrollment of %s not read back: %s", provider.value,
                            customer_id, exc.message)
                return None
        held = found if found is not None else Enrollment(enrolled=False)
        if not held.stated or held.enrolled == believed:
            return None
        since = held.enrolled_at.isoformat() if held.enrolled_at else None
        actual: dict[str, Any] = {"isEnrolled": held.enrolled, "enrollmentId": held.enrollment_id,
                                  "enrollmentDate": since}
        return DriftItem(drift=Drift.DIFFERING, entity_type=ENROLLMENT, external_id=customer_id,
                         entity_id=customer_id, customer_id=customer_id, fields=["isEnrolled"],
                         expected={"isEnrolled": believed}, actual=actual,
                         note="Volue holds an enrollment the gateway does not believe in" if held.enrolled
                         else "the gateway believes the customer enrolled; Volue does not")

    found = await asyncio.gather(*(read(customer_id) for customer_id in customer_ids))
    return [item for item in found if item is not None]


async def _linked_since(sessions: async_sessionmaker[AsyncSession], provider: Provider,
                        external_ids: Sequence[str]) -> set[tuple[str, str]]:
    """Of objects no record accounted for when the comparison began, those a record's link
    names now: a create that finished while the provider was being listed."""
    found: set[tuple[str, str]] = set()
    if not external_ids:
        return found
    async with sessions() as session:
        for part in chunked(external_ids):
            rows = await session.exec(select(ProviderLinkRow).where(
                col(ProviderLinkRow.provider) == provider.value,
                col(ProviderLinkRow.external_id).in_(part),
                col(ProviderLinkRow.status) != SyncStatus.DELETED.value))
            found.update((link.entity_type, link.external_id or "") for link in rows)
    return found


async def record_drift(sessions: async_sessionmaker[AsyncSession], report: DriftReport) -> list[str]:
    """Mark the links of missing and differing records ``drifted`` and emit ``drift.found``
    for those newly marked and for unexpected objects; put drifted links found clean back to
    ``synced``. Links changed since the comparison began are left alone. Returns the records
    newly marked."""
    provider = report.provider
    table = table_of(ProviderLinkRow)
    drifted = {item.entity_id: item for item in report.items
               if item.drift is not Drift.UNEXPECTED and item.entity_id is not None
               and item.entity_type != ENROLLMENT}
    now = utcnow()
    marked: list[str] = []
    async with sessions() as session:
        enrollments = await _record_enrollments(session, report, now)
        ids = sorted(drifted)
        for part in chunked(ids):
            rows = await session.execute(
                update(table)
                .where(table.c.provider == provider, table.c.entity_id.in_(part),
                       table.c.status == SyncStatus.SYNCED.value, table.c.updated_at <= report.checked_at)
                .values(status=SyncStatus.DRIFTED.value, updated_at=now)
                .returning(table.c.entity_id))
            marked.extend(r.entity_id for r in rows)
        await session.execute(
            update(table)
            .where(table.c.provider == provider, table.c.status == SyncStatus.DRIFTED.value,
                   table.c.updated_at <= report.checked_at,
                   table.c.entity_id.not_in(ids) if ids else table.c.entity_id.is_not(None))
            .values(status=SyncStatus.SYNCED.value, updated_at=now))
        events: list[OwnEvent] = []
        for entity_id in marked:
            item = drifted[entity_id]
            events.append(about_entity(OutcomeType.DRIFT_FOUND, entity_type=item.entity_type,
                                       entity_id=entity_id, customer_id=item.customer_id, provider=provider,
                                       drift=item.drift.value, externalId=item.external_id,
                                       fields=item.fields))
        for item in enrollments:
            events.append(about_entity(OutcomeType.DRIFT_FOUND, entity_type=ENROLLMENT,
                                       entity_id=item.external_id, customer_id=item.customer_id,
                                       provider=provider, drift=item.drift.value, externalId=item.external_id,
                                       fields=item.fields))
        for item in report.of(Drift.UNEXPECTED):
            events.append(OwnEvent(type=OutcomeType.DRIFT_FOUND, customer_id=None, payload={
                "provider": provider, "drift": item.drift.value, "entityType": item.entity_type,
                "externalId": item.external_id, "entityId": item.entity_id, "note": item.note}))
        await emit(session, events, now=now)
        await session.commit()
    return marked


async def _record_enrollments(session: AsyncSession, report: DriftReport, now: datetime) -> list[DriftItem]:
    """Set each drifted membership to what the provider holds (unless it changed since the
    comparison began); the items recorded."""
    recorded: list[DriftItem] = []
    for item in report.items:
        if item.entity_type != ENROLLMENT or item.actual is None:
            continue
        existing = await session.get(ProgrammeMembershipRow, (item.external_id, report.provider))
        if existing is not None and (_utc(existing.updated_at) > report.checked_at
                                     or existing.status == ProgrammeStatus.PENDING.value):
            continue
        row = existing or await programmes.membership(session, item.external_id, now)
        enrolled = bool(item.actual.get("isEnrolled"))
        row.status = (ProgrammeStatus.ENROLLED if enrolled else ProgrammeStatus.NOT_ENROLLED).value
        if existing is None:  # no wish of a caller's: what Volue holds stands
            row.wanted = row.status
        row.enrollment_id = item.actual.get("enrollmentId") if enrolled else None
        at = item.actual.get("enrollmentDate")
        row.enrolled_at = (datetime.fromisoformat(at) if at else now) if enrolled else None
        row.last_error = (f"read back from {report.provider} in a reconciliation: "
                          f"{'enrolled' if enrolled else 'not enrolled'}")
        row.updated_at = now
        session.add(row)
        recorded.append(item)
    return recorded


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _depth(row: Row, rows: dict[str, tuple[EntityType, Row]]) -> int:
    depth = 0
    while isinstance(row, SiteRow) and row.parent_site_id and row.parent_site_id in rows and depth < 100:
        row = rows[row.parent_site_id][1]
        depth += 1
    return depth


async def repair(sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher | None,
                 report: DriftReport) -> RepairResult:
    """Queue, in one transaction, an upsert at the report's provider of every missing or
    differing record (parents first, so children wait on them), and a delete of every object
    a deleted record left behind; the queues are woken after the commit."""
    provider = Provider(report.provider)
    wanted = [item for item in report.items if item.drift is not Drift.UNEXPECTED and item.entity_id
              and item.entity_type != ENROLLMENT]
    enrollments = [item for item in report.items if item.entity_type == ENROLLMENT]
    leftovers = [item for item in report.of(Drift.UNEXPECTED) if item.entity_id]
    left = [item for item in report.of(Drift.UNEXPECTED) if not item.entity_id]
    sent: list[str] = []
    async with unit_of_work(sessions, dispatcher) as uow:
        snap = await _snapshot(uow.session, provider)
        rows = [snap.rows[item.entity_id] for item in wanted if item.entity_id in snap.rows]
        rows.sort(key=lambda pair: (_ORDER[pair[0].value], _depth(pair[1], snap.rows)))
        for entity_type, row in rows:
            customer = snap.customers[_customer_of(row)]
            await plan_entity_upsert(uow.planner, customer, entity_type, row, providers=[provider.value],
                                     resend_site=False)
            sent.append(row.id)
        for item in sorted(leftovers, key=lambda i: -_ORDER[i.entity_type]):
            link = await uow.planner.link(item.entity_id or "", provider)
            if link is None:
                continue
            link.status = SyncStatus.DRIFTED.value  # deleted once; the object came back or stayed
            await uow.planner.delete(provider=provider, entity_type=EntityType(item.entity_type),
                                     entity_id=link.entity_id, customer_id=item.customer_id or "")
            sent.append(link.entity_id)
        for item in enrollments:
            if await _wish_again(uow.session, uow.planner, snap, item.external_id):
                sent.append(item.external_id)
        queued = len(uow.planner.created)
    return RepairResult(provider=provider.value, queued=queued, records=sent, left=left)


async def _wish_again(session: AsyncSession, planner: OutboxPlanner, snap: _Snapshot,
                      customer_id: str) -> bool:
    """Queue the customer's programme wish again when it differs from the state now recorded."""
    customer = snap.customers.get(customer_id)
    row = await session.get(ProgrammeMembershipRow, (customer_id, Provider.VOLUE.value))
    if customer is None or row is None or row.status == ProgrammeStatus.PENDING.value:
        return False
    enroll = row.wanted != ProgrammeStatus.NOT_ENROLLED.value
    if (row.status == ProgrammeStatus.ENROLLED.value) == enroll:
        return False
    planned = await programmes.plan_membership(session, planner, customer, enroll=enroll,
                                               only_if_eligible=row.wanted == programmes.IF_ELIGIBLE)
    return planned.status == ProgrammeStatus.PENDING.value


async def check(sessions: async_sessionmaker[AsyncSession], adapters: Adapters, provider: Provider, *,
                repair_drift: bool = False, dispatcher: Dispatcher | None = None,
                source: str = "cli") -> tuple[DriftReport, RepairResult | None]:
    """One provider as ``gateway reconcile`` and the console's Drift page run it: compare, mark
    what drifted, keep the result (``source``: ``cli`` or ``console``) and, with ``repair_drift``
    and drift found, queue the repair. A failing comparison raises (``MissingCapability``, the
    adapter's ``ProviderError``)."""
    report = await compare(sessions, adapters, provider)
    await record_drift(sessions, report)
    await keep_run(sessions, report, source)
    fixed = await repair(sessions, dispatcher, report) if repair_drift and report.items else None
    return report, fixed


async def reconcile(sessions: async_sessionmaker[AsyncSession], adapters: Adapters,
                    providers: Iterable[Provider], *, repair_drift: bool = False,
                    dispatcher: Dispatcher | None = None) -> list[tuple[DriftReport, RepairResult | None]]:
    """Compare each provider, record what drifted (links, events, metrics, the kept run of
    source ``daily``) and, with ``repair_drift``, queue the repair. A provider whose comparison
    fails is logged, counted in the metrics and left out of the result."""
    done: list[tuple[DriftReport, RepairResult | None]] = []
    for provider in providers:
        try:
            report = await compare(sessions, adapters, provider)
        except Exception:
            log.exception("reconcile of %s failed", provider.value)
            observe_drift(provider.value, None)
            continue
        await record_drift(sessions, report)
        await keep_run(sessions, report, "daily")
        observe_drift(provider.value, report.counts())
        fixed = await repair(sessions, dispatcher, report) if repair_drift and report.items else None
        done.append((report, fixed))
    return done


def reconcilable(adapters: Adapters) -> list[Provider]:
    """The providers whose adapters can list what they hold."""
    return adapters.offering(Capability.INVENTORY)
