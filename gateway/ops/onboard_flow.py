"""The onboarding run of ``gateway onboard`` over the HTTP API: create the file's customers
in batches, complete the ones that exist, and follow their sync status until it settles.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from rich.progress import Progress

from gateway.core.domain import Provider, SyncStatus
from gateway.ops.client import (
    BatchResult,
    CustomerPage,
    GatewayClient,
    GatewayProblem,
    RemoteCustomer,
    RemoteDevice,
    RemoteError,
    RemoteRecord,
    RemoteSite,
)

if TYPE_CHECKING:
    # Only ``onboard`` needs the file checks (they pull in the API's schemas and the outbox's
    # plan); ``status`` and ``invite`` start without them.
    from gateway.customers.schemas import CustomerCreate
    from gateway.ops.onboarding import OnboardingCustomer, ParsedFile, RowProblem

UNSETTLED = (SyncStatus.PENDING, SyncStatus.DELETING)
"""Statuses still on their way: ``--wait`` polls while a record has one."""
BLOCKING = ("failed", "blocked")
"""Statuses of a record that will not move without ops."""


# --- onboard -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one customer of the file."""

    customer: OnboardingCustomer
    status: str = "failed"
    """created | already there | incomplete (exists, some rows refused) | failed"""
    id: str | None = None
    added: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def refuse(self, path: str, problem: GatewayProblem) -> None:
        from gateway.ops.onboarding import RowProblem, locate

        line, column = locate(self.customer.records, _join(path, problem.field))
        detail = f"{problem.status}: {problem.detail}"
        self.problems.append(RowProblem(line=line, field=column, detail=detail))


@dataclass
class RecordState:
    """One record of the file at one provider, as the API last reported it."""

    line: int
    record: str
    provider: str
    status: str
    last_error: str | None


def _customer_exists(error: RemoteError) -> bool:
    return error.status == 409 and error.field == "externalRef"


def _join(prefix: str, field_path: str | None) -> str:
    if not field_path:
        return prefix
    return f"{prefix}.{field_path}" if prefix else field_path


async def onboard(
    api: GatewayClient, parsed: ParsedFile, *, batch_size: int, progress: Progress
) -> list[Outcome]:
    """Create the file's customers through ``POST /v1/customers/batch``; fill in what is missing
    of customers that already exist (matched by externalRef), leaving existing records alone."""
    from gateway.ops.onboarding_plan import batch_key, batches

    outcomes: list[Outcome] = []
    task = progress.add_task("onboarding", total=len(parsed.customers))
    for number, group in enumerate(batches(parsed.customers, size=batch_size)):
        result, response = await api.call(
            "POST", "/v1/customers/batch", BatchResult, body={"customers": [c.body for c in group]},
            key=batch_key(parsed.digest, batch_size, number))
        replayed = response.headers.get("idempotent-replayed") == "true"
        existing: list[Outcome] = []
        for item in result.results:
            outcome = Outcome(customer=group[item.index])
            outcomes.append(outcome)
            if item.status == 201 and item.customer is not None and not replayed:
                outcome.status, outcome.id = "created", item.customer.id
            elif item.status == 201 or (item.error is not None and _customer_exists(item.error)):
                existing.append(outcome)
            elif (error := item.error) is not None:
                outcome.refuse("", GatewayProblem(error.status, error.detail, field=error.field))
        for done in asyncio.as_completed([_complete(api, o) for o in existing]):
            await done
            progress.advance(task)
        progress.advance(task, len(group) - len(existing))
    return outcomes


async def enroll_eligible(api: GatewayClient, outcomes: Sequence[Outcome], *, digest: str) -> int:
    """``PUT /v1/customers/{id}/programmes/volue`` with ``onlyIfEligible`` for each customer of
    the file the gateway holds at Volue; the outbox enrolls those Volue holds eligible once
    their locations are there. Returns how many were asked."""
    wanted = [o for o in outcomes if o.id is not None and Provider.VOLUE in o.customer.body.providers]

    async def one(outcome: Outcome) -> None:
        try:
            await api.call("PUT", f"/v1/customers/{outcome.id}/programmes/volue", _Accepted,
                           body={"onlyIfEligible": True}, key=f"{digest}:enroll:{outcome.id}")
        except GatewayProblem as problem:
            outcome.refuse("", problem)

    await asyncio.gather(*(one(o) for o in wanted))
    return len(wanted)


class _Accepted(msgspec.Struct):
    """Any JSON object (the answer's content is not needed)."""


@dataclass
class Missing:
    """What the gateway does not have yet of one customer of the file (matched by externalRef)."""

    customer_id: str | None
    """The existing customer's id; ``None`` when the customer itself is missing."""
    sites: list[int] = field(default_factory=list)
    """Indexes of the file's sites the customer lacks."""
    devices: list[tuple[int, int, str]] = field(default_factory=list)
    """(site index, device index, the existing site's id) of devices an existing site lacks."""
    vehicles: list[int] = field(default_factory=list)

    def paths(self, body: CustomerCreate) -> set[str] | None:
        """Paths of the missing records, as ``OnboardingCustomer.records`` names them; ``None``
        when the customer (and so every record of it) is missing."""
        if self.customer_id is None:
            return None
        found = {f"vehicles[{k}]" for k in self.vehicles}
        found |= {f"sites[{i}].devices[{j}]" for i, j, _ in self.devices}
        for i in self.sites:
            found.add(f"sites[{i}]")
            found |= {f"sites[{i}].devices[{j}]" for j in range(len(body.sites[i].devices))}
        return found


async def missing_records(api: GatewayClient, body: CustomerCreate) -> Missing:
    """Ask the gateway which of the customer's records (by externalRef) it lacks; writes nothing."""
    page, _ = await api.call("GET", "/v1/customers", CustomerPage, params={"externalRef": body.external_ref})
    if not page.items:
        return Missing(customer_id=None)
    missing = Missing(customer_id=page.items[0].id)
    sites = await _list(api, f"/v1/customers/{missing.customer_id}/sites", RemoteSite)
    for i, site in enumerate(body.sites):
        found = sites.get(site.external_ref)
        if found is None:
            missing.sites.append(i)
            continue
        devices = await _list(api, f"/v1/sites/{found.id}/devices", RemoteDevice)
        missing.devices.extend((i, j, found.id) for j, device in enumerate(site.devices)
                               if device.external_ref not in devices)
    if body.vehicles:
        vehicles = await _list(api, f"/v1/customers/{missing.customer_id}/vehicles", RemoteDevice)
        missing.vehicles = [k for k, v in enumerate(body.vehicles) if v.external_ref not in vehicles]
    return missing


async def missing_per_customer(api: GatewayClient, parsed: ParsedFile, *, progress: Progress,
                               concurrency: int = 16) -> dict[str, set[str] | None]:
    """:meth:`Missing.paths` of every customer of the file, by externalRef (reads only)."""
    task = progress.add_task("asking the gateway", total=len(parsed.customers))
    limit = asyncio.Semaphore(concurrency)
    found: dict[str, set[str] | None] = {}

    async def one(customer: OnboardingCustomer) -> None:
        async with limit:
            missing = await missing_records(api, customer.body)
        found[customer.body.external_ref] = missing.paths(customer.body)
        progress.advance(task)

    await asyncio.gather(*(one(customer) for customer in parsed.customers))
    return found


async def _complete(api: GatewayClient, outcome: Outcome) -> None:
    """An existing customer: add the file's sites, devices and vehicles it does not have yet."""
    body = outcome.customer.body
    missing = await missing_records(api, body)
    if missing.customer_id is None:
        try:
            created, _ = await api.call("POST", "/v1/customers", RemoteCustomer, body=body)
        except GatewayProblem as problem:
            outcome.refuse("", problem)
            return
        outcome.status, outcome.id = "created", created.id
        return
    outcome.id = customer_id = missing.customer_id
    for i in missing.sites:
        site = body.sites[i]
        added = await _add(api, outcome, f"sites[{i}]", f"/v1/customers/{customer_id}/sites", site,
                           f"site {site.external_ref}", RemoteSite)
        if added:
            outcome.added.extend(f"{d.kind.value} {d.external_ref}" for d in site.devices)
    for i, j, site_id in missing.devices:
        device = body.sites[i].devices[j]
        await _add(api, outcome, f"sites[{i}].devices[{j}]", f"/v1/sites/{site_id}/devices", device,
                   f"{device.kind.value} {device.external_ref}", RemoteDevice)
    for k in missing.vehicles:
        vehicle = body.vehicles[k]
        await _add(api, outcome, f"vehicles[{k}]", f"/v1/customers/{customer_id}/vehicles", vehicle,
                   f"vehicle {vehicle.external_ref}", RemoteDevice)
    outcome.status = "incomplete" if outcome.problems else "already there"


RecordType = type[RemoteSite] | type[RemoteDevice]


async def _list(api: GatewayClient, path: str, type_: RecordType) -> dict[str, Any]:
    items: list[RemoteRecord] = await api.collect(path, type_)
    return {item.external_ref: item for item in items}


async def _add(api: GatewayClient, outcome: Outcome, at: str, path: str, body: Any, label: str,
               type_: RecordType) -> bool:
    """POST one missing record; a 409 whose record now shows up at ``path`` (an earlier
    attempt that did arrive) counts as already there."""
    try:
        await api.call("POST", path, type_, body=body)
    except GatewayProblem as problem:
        if problem.status == 409 and body.external_ref in await _list(api, path, type_):
            return False
        outcome.refuse(at, problem)
        return False
    outcome.added.append(label)
    return True


# --- following sync status -----------------------------------------------------------------


async def sync_states(api: GatewayClient, outcome: Outcome) -> list[RecordState]:
    """The sync status at each provider of the file's records of one customer.

    A record whose task waits on a dead task is ``blocked`` (the gateway says so, with the
    dead task and why); one still pending where the record it hangs under (its site, or its
    customer) failed will not move until ops retry the parent, and is shown as blocked too.
    """
    customer = outcome.customer
    body = customer.body
    states: list[RecordState] = []

    def add(record: RemoteRecord, line: int, label: str,
            parent: tuple[str, dict[str, str]] | None) -> dict[str, str]:
        effective: dict[str, str] = {}
        for provider, sync in sorted(record.sync.items()):
            status, error = sync.status, sync.last_error
            waiting = status in (SyncStatus.PENDING, SyncStatus.BLOCKED)
            if parent is not None and waiting and parent[1].get(provider) in BLOCKING:
                status, error = "blocked", f"waits for {parent[0]}, which {parent[1][provider]} at {provider}"
            elif status == SyncStatus.BLOCKED:
                error = sync.blocked_reason or error
            effective[provider] = status
            states.append(RecordState(line=line, record=label, provider=provider, status=status,
                                      last_error=error))
        return effective

    remote, _ = await api.call("GET", f"/v1/customers/{outcome.id}", RemoteCustomer)
    customer_label = f"customer {body.external_ref}"
    owner = (customer_label, add(remote, customer.line, customer_label, None))
    sites = await _list(api, f"/v1/customers/{outcome.id}/sites", RemoteSite)
    for i, site in enumerate(body.sites):
        found = sites.get(site.external_ref)
        if found is None:
            continue
        site_label = f"site {site.external_ref}"
        site_state = (site_label, add(found, customer.line_of(f"sites[{i}]"), site_label, owner))
        devices = await _list(api, f"/v1/sites/{found.id}/devices", RemoteDevice)
        for j, device in enumerate(site.devices):
            if device.external_ref in devices:
                add(devices[device.external_ref], customer.line_of(f"sites[{i}].devices[{j}]"),
                    f"{device.kind.value} {device.external_ref}", site_state)
    if body.vehicles:
        vehicles = await _list(api, f"/v1/customers/{outcome.id}/vehicles", RemoteDevice)
        for k, vehicle in enumerate(body.vehicles):
            if vehicle.external_ref in vehicles:
                add(vehicles[vehicle.external_ref], customer.line_of(f"vehicles[{k}]"),
                    f"vehicle {vehicle.external_ref}", owner)
    return states


async def follow(api: GatewayClient, outcomes: Sequence[Outcome], *, timeout_s: float, interval_s: float,
                 progress: Progress) -> tuple[list[RecordState], bool]:
    """Poll until no record of the file is pending or deleting at any provider (or time is up);
    return the last states and whether everything settled."""
    tracked = [o for o in outcomes if o.id is not None]
    latest: dict[int, list[RecordState]] = {}
    open_ = set(range(len(tracked)))
    task = progress.add_task("syncing", total=None)
    deadline = time.monotonic() + timeout_s
    while True:
        polled = await asyncio.gather(*(sync_states(api, tracked[i]) for i in sorted(open_)))
        for i, states in zip(sorted(open_), polled, strict=True):
            latest[i] = states
            if all(state.status not in UNSETTLED for state in states):
                open_.discard(i)
        every = [state for states in latest.values() for state in states]
        progress.update(task, total=len(every), completed=sum(s.status not in UNSETTLED for s in every))
        if not open_ or time.monotonic() >= deadline:
            return sorted(every, key=lambda s: (s.line, s.record, s.provider)), not open_
        await asyncio.sleep(interval_s)
