"""``gateway status``: each provider's circuit, then a customer's tree or the tasks that need ops.

Read through the API (``GET /v1/sync/circuits`` and ``/v1/sync/tasks``, both with the ``ops``
scope): the circuit comes from the worker that sends the requests (the embedded one, or the
arq workers through Redis). A blocked task or record is shown with the reason it waits.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from gateway.ops.client import (
    CustomerPage,
    GatewayClient,
    GatewayProblem,
    Remote,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    RemoteSync,
)
from gateway.ops.tables import id_column, results_console, styled

PROBLEMS_SHOWN = 50


class RemoteCircuit(Remote):
    provider: str
    state: str
    since: datetime | None = None
    next_probe_at: datetime | None = None
    reason: str | None = None
    concurrency_limit: int | None = None
    source: str = ""


class RemoteCircuits(Remote):
    circuits: dict[str, RemoteCircuit]


class RemoteTask(Remote):
    id: str
    provider: str
    entity_type: str
    entity_id: str
    action: str
    status: str
    attempts: int = 0
    last_error: str | None = None
    blocked_by: str | None = None


class _Tasks(Remote):
    items: list[RemoteTask]


STYLES = {"closed": "green", "half-open": "yellow", "open": "red"}


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "–"


def circuit_table(circuits: list[RemoteCircuit]) -> Table:
    table = Table("provider", "circuit", "open since", "next probe", "why", "read from",
                  title="provider circuits", title_justify="left")
    for c in circuits:
        style = STYLES.get(c.state, "dim")
        table.add_row(c.provider, f"[{style}]{c.state}[/{style}]", _when(c.since), _when(c.next_probe_at),
                      c.reason or "", c.source)
    return table


def task_table(title: str, tasks: list[RemoteTask]) -> Table:
    table = Table(id_column("task"), "provider", "work", "attempts", "why", title=title, title_justify="left")
    for t in tasks:
        table.add_row(t.id, t.provider, f"{t.entity_type} {t.action} {t.entity_id}", str(t.attempts),
                      t.last_error or "")
    return table


def _sync_text(sync: dict[str, RemoteSync]) -> str:
    parts = []
    for provider, state in sorted(sync.items()):
        text = f"{provider}: {styled(state.status)}"
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


async def status_body(api: GatewayClient, out: Console, err: Console, args: argparse.Namespace) -> int:
    """Print the circuits, then the customer's tree (``--customer``) or the dead and blocked tasks."""
    wide = results_console(wide=getattr(args, "wide", False))
    try:
        circuits, _ = await api.call("GET", "/v1/sync/circuits", RemoteCircuits)
        wide.print(circuit_table(list(circuits.circuits.values())))
    except GatewayProblem as problem:
        if problem.status != 403:
            raise
        err.print("[yellow]circuits not shown: they need a key with the 'ops' scope[/yellow]")
    if args.customer:
        out.print(await customer_tree(api, args.customer))
        return 0
    for status in ("dead", "blocked"):
        page, _ = await api.call("GET", "/v1/sync/tasks", _Tasks,
                                 params={"status": status, "limit": str(PROBLEMS_SHOWN + 1)})
        more = (" (the newest shown; more on the console's Problems page)"
                if len(page.items) > PROBLEMS_SHOWN else "")
        if page.items:
            wide.print(task_table(f"{status} tasks{more}", page.items[:PROBLEMS_SHOWN]))
        else:
            out.print(f"no {status} tasks")
    return 0
