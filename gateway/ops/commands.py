"""``gateway onboard FILE.csv | invite --site ID | status --customer ID``: ops tools over the HTTP API.

They talk to a running gateway (``--url`` / ``GATEWAY_URL``, ``--api-key`` /
``GATEWAY_API_KEY``) like any other caller, so the API's validation, idempotency and
outbox apply unchanged. Exit codes: 0 done, 1 something was refused, failed or did not
finish in time, 2 the gateway could not be reached or refused the key, or the file
could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from gateway.core.domain import InviteStatus, Provider, SyncStatus
from gateway.ops.client import (
    BatchResult,
    CustomerPage,
    GatewayClient,
    GatewayProblem,
    RemoteCustomer,
    RemoteDevice,
    RemoteError,
    RemoteInvite,
    RemoteRecord,
    RemoteSite,
    RemoteSync,
    Unreachable,
    settings_from,
)
from gateway.ops.tables import id_column, results_console

if TYPE_CHECKING:
    # Only ``onboard`` needs the file checks (they pull in the API's schemas and the outbox's
    # plan); ``status`` and ``invite`` start without them.
    from gateway.customers.schemas import CustomerCreate
    from gateway.ops.onboarding import OnboardingCustomer, ParsedFile, RowProblem

UNSETTLED = (SyncStatus.PENDING, SyncStatus.DELETING)
BLOCKING = ("failed", "blocked")
STYLES = {"synced": "green", "sent": "green", "failed": "red", "blocked": "red", "pending": "yellow",
          "deleting": "yellow", "deleted": "dim", "drifted": "magenta"}


def _styled(status: str) -> str:
    style = STYLES.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


def _consoles(args: argparse.Namespace | None = None) -> tuple[Console, Console]:
    """Results on stdout, progress and errors on stderr (created per command, so the
    terminal width and redirections of the moment apply; ``--wide``: tables at full width)."""
    return results_console(wide=bool(getattr(args, "wide", False))), Console(stderr=True, soft_wrap=True)


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
    from gateway.ops.onboarding import batch_key, batches

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


# --- rendering -----------------------------------------------------------------------------


def problems_table(problems: Sequence[RowProblem], title: str) -> Table:
    table = Table("line", "field", "problem", title=title, title_justify="left")
    for problem in problems:
        table.add_row(str(problem.line), problem.field or "(row)", problem.detail)
    return table


def plan_table(parsed: ParsedFile, missing: Mapping[str, set[str] | None] | None = None
               ) -> tuple[Table, Table]:
    """Every planned upstream call, and their count per provider and call (``missing``: see
    :func:`planned_calls`)."""
    from gateway.ops.onboarding import planned_calls

    calls = planned_calls(parsed.customers, missing=missing)
    listing = Table("line", "provider", "record", "upstream call", title="Planned upstream calls",
                    title_justify="left")
    for call in calls:
        listing.add_row(str(call.line), call.provider.value, call.record, call.call)
    counts = Table("provider", "upstream call", "count", title="Per provider", title_justify="left")
    for (provider, what), count in sorted(Counter((c.provider.value, c.call) for c in calls).items()):
        counts.add_row(provider, what, str(count))
    return listing, counts


def _print_plan(out: Console, parsed: ParsedFile, missing: Mapping[str, set[str] | None] | None) -> None:
    listing, counts = plan_table(parsed, missing)
    out.print(listing)
    out.print(counts)


def outcome_table(outcomes: Sequence[Outcome]) -> Table:
    counts = Counter(o.status for o in outcomes)
    table = Table("customers", "count", title="Onboarding", title_justify="left")
    for status in ("created", "already there", "incomplete", "failed"):
        table.add_row(status, str(counts.get(status, 0)))
    table.add_row("records added to existing customers", str(sum(len(o.added) for o in outcomes)))
    return table


def sync_tables(states: Sequence[RecordState]) -> tuple[Table, Table | None]:
    per: dict[str, Counter[str]] = {}
    for state in states:
        per.setdefault(state.provider, Counter())[state.status] += 1
    statuses = ["synced", "failed", "blocked", "drifted", "pending", "deleting", "deleted"]
    summary = Table("provider", *statuses, title="Sync status", title_justify="left")
    for provider, counts in sorted(per.items()):
        summary.add_row(provider, *(str(counts.get(s, 0)) for s in statuses))
    bad = [s for s in states if s.status != "synced"]
    if not bad:
        return summary, None
    detail = Table("line", "record", "provider", "status", "last error", title="Not synced",
                   title_justify="left")
    for state in bad:
        detail.add_row(str(state.line), state.record, state.provider,
                       _styled(state.status), state.last_error or "")
    return summary, detail


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


# --- commands ------------------------------------------------------------------------------


def _run(args: argparse.Namespace, body: Callable[[GatewayClient, Console, Console], Awaitable[int]]) -> int:
    """Connect to the gateway and run ``body``; report an unreachable gateway or a refused key."""
    out, err = _consoles(args)
    url, key = settings_from(args.url, args.api_key)
    if not key:
        err.print("[red]no API key:[/red] pass --api-key or set GATEWAY_API_KEY")
        return 2

    async def main() -> int:
        async with GatewayClient(url=url, api_key=key) as api:
            return await body(api, out, err)

    try:
        return asyncio.run(main())
    except Unreachable as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    except GatewayProblem as problem:
        where = f" (field {problem.field})" if problem.field else ""
        err.print(f"[red]the gateway refused the request ({problem.status}):[/red] {problem.detail}{where}")
        return 2 if problem.status in (401, 403) else 1


def onboard_command(args: argparse.Namespace) -> int:
    from gateway.ops.onboarding import parse_csv

    out, err = _consoles(args)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        err.print(f"[red]cannot read {args.file}:[/red] {exc.strerror}")
        return 2
    parsed = parse_csv(data)
    if not parsed.ok:
        out.print(problems_table(parsed.problems, f"{args.file}: {len(parsed.problems)} problem(s)"))
        rows = len({p.line for p in parsed.problems})
        err.print(f"[red]{rows} row(s) need fixing; nothing was sent to the gateway[/red]")
        return 1
    sites = sum(len(c.body.sites) for c in parsed.customers)
    devices = sum(len(site.devices) for c in parsed.customers for site in c.body.sites)
    vehicles = sum(len(c.body.vehicles) for c in parsed.customers)
    out.print(f"{args.file}: {len(parsed.customers)} customers, {sites} sites, {devices} devices, "
              f"{vehicles} vehicles; every row is valid")
    if args.dry_run:
        if not settings_from(args.url, args.api_key)[1]:
            _print_plan(out, parsed, None)
            out.print("dry run: nothing was written. Without an API key the gateway was not asked "
                      "which records exist, so every record is planned as new (pass --api-key or set "
                      "GATEWAY_API_KEY to plan only what is missing)")
            return 0

        async def plan(api: GatewayClient, out: Console, err: Console) -> int:
            with _progress(err) as progress:
                missing = await missing_per_customer(api, parsed, progress=progress)
            _print_plan(out, parsed, missing)
            total = sum(len(c.records) for c in parsed.customers)
            absent = 0
            for customer in parsed.customers:
                paths = missing[customer.body.external_ref]
                absent += len(customer.records) if paths is None else len(paths)
            out.print(f"dry run: nothing was written. {total - absent} of the file's {total} records "
                      "exist at the gateway already and are left out of the plan")
            return 0

        return _run(args, plan)

    async def body(api: GatewayClient, out: Console, err: Console) -> int:
        with _progress(err) as progress:
            outcomes = await onboard(api, parsed, batch_size=args.batch_size, progress=progress)
        out.print(outcome_table(outcomes))
        if args.enroll_eligible:
            asked = await enroll_eligible(api, outcomes, digest=parsed.digest)
            out.print(f"asked to enroll {asked} customer(s) in Volue's programme if eligible; "
                      "each shows programmes.volue (see `gateway status`)")
        problems = sorted(p for o in outcomes for p in o.problems)
        if problems:
            out.print(problems_table(problems, "Refused by the gateway"))
        status = 1 if problems else 0
        if args.wait:
            with _progress(err) as progress:
                states, settled = await follow(api, outcomes, timeout_s=args.timeout,
                                               interval_s=args.interval, progress=progress)
            summary, detail = sync_tables(states)
            out.print(summary)
            if detail is not None:
                out.print(detail)
            if not settled:
                err.print(f"[yellow]still syncing after {args.timeout:g} s[/yellow]")
            if not settled or any(s.status in BLOCKING for s in states):
                status = 1
        return status

    return _run(args, body)


def invite_command(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {"sendEmail": args.send_email, "force": args.force}
    if args.email:
        payload["email"] = args.email
    key = f"invite-{uuid.uuid4()}"

    async def body(api: GatewayClient, out: Console, err: Console) -> int:
        invite, response = await api.call("POST", f"/v1/sites/{args.site}/invites", RemoteInvite,
                                          body=payload, key=key)
        if response.status_code == 200:
            out.print(f"{invite.email} was already invited to this site (invite {invite.id}); "
                      "pass --force to send a new invite")
        deadline = time.monotonic() + args.timeout
        while args.wait and invite.status == InviteStatus.PENDING and time.monotonic() < deadline:
            await asyncio.sleep(args.interval)
            invite, _ = await api.call("GET", f"/v1/invites/{invite.id}", RemoteInvite)
        table = Table(id_column("invite"), "email", "status", "link", title="Invite", title_justify="left")
        table.add_row(invite.id, invite.email, _styled(invite.status),
                      invite.invite_link or "")
        out.print(table)
        if invite.last_error:
            out.print(f"last error: {invite.last_error}")
        if invite.invite_link:
            print(invite.invite_link)
        if invite.status == InviteStatus.FAILED or (args.wait and invite.status == InviteStatus.PENDING):
            return 1
        return 0

    return _run(args, body)


def _sync_text(sync: dict[str, RemoteSync]) -> str:
    parts = []
    for provider, state in sorted(sync.items()):
        text = f"{provider}: {_styled(state.status)}"
        why = state.blocked_reason if state.status == "blocked" and state.blocked_reason else state.last_error
        if why:
            text += f" ({why})"
        parts.append(text)
    return "  ".join(parts) or "[dim]no provider holds it[/dim]"


async def customer_tree(api: GatewayClient, customer_id: str) -> Tree:
    """The customer, its sites with their devices, and its vehicles, each with its sync status."""
    try:
        customer, _ = await api.call("GET", f"/v1/customers/{customer_id}", RemoteCustomer)
    except GatewayProblem as problem:
        if problem.status != 404:
            raise
        page, _ = await api.call("GET", "/v1/customers", CustomerPage, params={"externalRef": customer_id})
        if not page.items:
            raise
        customer = page.items[0]
    tree = Tree(f"[bold]customer {customer.name}[/bold] ({customer.external_ref}, id {customer.id}, "
                f"{customer.email})  {_sync_text(customer.sync)}")
    sites = await api.collect(f"/v1/customers/{customer.id}/sites", RemoteSite)
    device_lists = await asyncio.gather(
        *(api.collect(f"/v1/sites/{site.id}/devices", RemoteDevice) for site in sites))
    for site, devices in zip(sites, device_lists, strict=True):
        branch = tree.add(f"site {site.name} ({site.external_ref}, {site.kind}, id {site.id})  "
                          f"{_sync_text(site.sync)}")
        for device in devices:
            branch.add(f"{device.kind} {device.name} ({device.external_ref}, id {device.id})  "
                       f"{_sync_text(device.sync)}")
    vehicles = await api.collect(f"/v1/customers/{customer.id}/vehicles", RemoteDevice)
    if vehicles:
        branch = tree.add("vehicles")
        for vehicle in vehicles:
            branch.add(f"vehicle {vehicle.name} ({vehicle.external_ref}, id {vehicle.id})  "
                       f"{_sync_text(vehicle.sync)}")
    return tree


def status_command(args: argparse.Namespace) -> int:
    from gateway.ops.status import status_body

    async def body(api: GatewayClient, out: Console, err: Console) -> int:
        return await status_body(api, out, err, args)

    return _run(args, body)


# --- argument parsing ----------------------------------------------------------------------


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the gateway's base URL (GATEWAY_URL, default http://127.0.0.1:8000)")
    parser.add_argument("--api-key", help="an API key (GATEWAY_API_KEY); it is never printed")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between status polls")
    parser.add_argument("--wide", action="store_true",
                        help="print tables at full width (the default when the output is not a terminal)")


def add_ops_commands(sub: Any) -> None:
    """Register ``onboard``, ``invite`` and ``status`` on the ``gateway`` command's subparsers."""
    onboard_parser = sub.add_parser("onboard", help="create customers, sites and devices from a CSV file")
    onboard_parser.add_argument("file", help="the CSV file (see README; sample: examples/onboarding.csv)")
    onboard_parser.add_argument("--enroll-eligible", action="store_true",
                                help="also enroll the file's Volue customers in Volue's programme, "
                                     "those Volue holds eligible (PUT .../programmes/volue)")
    onboard_parser.add_argument("--dry-run", action="store_true",
                                help="validate and list the planned upstream calls; write nothing")
    onboard_parser.add_argument("--wait", action="store_true",
                                help="follow the sync status until every record is synced or failed")
    onboard_parser.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits at most")
    onboard_parser.add_argument("--batch-size", type=int, default=1000, choices=range(1, 1001),
                                metavar="1..1000", help="customers per POST /v1/customers/batch")
    _connection(onboard_parser)
    onboard_parser.set_defaults(func=onboard_command)

    invite = sub.add_parser("invite", help="invite an email address to a site's Zählerfreunde space")
    invite.add_argument("--site", required=True, help="the site's id")
    invite.add_argument("--email", help="the address to invite (default: the customer's email)")
    invite.add_argument("--send-email", action=argparse.BooleanOptionalAction, default=True,
                        help="whether Zählerfreunde emails the invite (the link is shown either way)")
    invite.add_argument("--force", action="store_true", help="send a new invite even if one was sent before")
    invite.add_argument("--wait", action="store_true", help="wait for the invite link and print it")
    invite.add_argument("--timeout", type=float, default=120.0, help="seconds --wait waits at most")
    _connection(invite)
    invite.set_defaults(func=invite_command)

    status = sub.add_parser("status", help="each provider's circuit, then a customer's records with their "
                                           "sync status, or the dead and blocked tasks")
    status.add_argument("--customer", help="the customer's id (or externalRef); without it, the dead and "
                                           "blocked tasks with their reasons")
    _connection(status)
    status.set_defaults(func=status_command)
