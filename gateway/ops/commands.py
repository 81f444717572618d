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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.core.domain import InviteStatus
from gateway.ops.client import (
    GatewayClient,
    GatewayProblem,
    RemoteInvite,
    Unreachable,
    settings_from,
)
from gateway.ops.onboard_flow import (
    BLOCKING,
    Outcome,
    RecordState,
    enroll_eligible,
    follow,
    missing_per_customer,
    onboard,
)
from gateway.ops.tables import id_column, results_console, styled

if TYPE_CHECKING:
    # Only ``onboard`` needs the file checks (they pull in the API's schemas and the outbox's
    # plan); ``status`` and ``invite`` start without them.
    from gateway.ops.onboarding import ParsedFile, RowProblem

def _consoles(args: argparse.Namespace | None = None) -> tuple[Console, Console]:
    """Results on stdout, progress and errors on stderr (created per command, so the
    terminal width and redirections of the moment apply; ``--wide``: tables at full width)."""
    return results_console(wide=bool(getattr(args, "wide", False))), Console(stderr=True, soft_wrap=True)


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
    from gateway.ops.onboarding_plan import planned_calls

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
                       styled(state.status), state.last_error or "")
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
        table.add_row(invite.id, invite.email, styled(invite.status),
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

    status = sub.add_parser("status", help="each provider's circuit, then a customer's records or the "
                                           "dead and blocked tasks")
    status.add_argument("--customer", help="the customer's id (or externalRef); without it, the dead and "
                                           "blocked tasks with their reasons")
    _connection(status)
    status.set_defaults(func=status_command)
