"""``gateway``: serve the API, run workers and emulators, migrate, manage API keys.

Each command imports what it needs when it runs: ``gateway --help`` lists the commands
from their names and one-line helps below, and only the chosen command's module builds
its full arguments (the web framework, the database layer and the app are loaded by the
commands that use them, not by every call).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from gateway.core.settings import Settings
    from gateway.store.tables import ApiKeyRow

T = TypeVar("T")

console = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    from gateway.core.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import create_app
    from gateway.core.domain import Provider
    from gateway.observability.logging import configure_logging_from_env
    from gateway.ops.emulators import (
        EmulatorPortBusy,
        adopt_standalone,
        emulator_servers,
        port_taken,
        save_states,
    )

    settings, adopted = adopt_standalone(_settings())
    host = args.host or settings.http.host
    port = args.port or settings.http.port
    if port_taken(port, host):
        console.print(f"[red]cannot start:[/red] {host}:{port} is in use; set GATEWAY_PORT (or --port) "
                      "to serve on another port")
        return 2
    try:
        emulated = emulator_servers(settings)
    except EmulatorPortBusy as exc:
        console.print(f"[red]cannot start:[/red] {exc}")
        return 2
    for name, url in adopted:
        console.print(f"[yellow]{name}:[/yellow] no base URL configured, using the {name} emulator "
                      f"already running at {url}")
    for name, server in emulated:
        console.print(
            f"[yellow]{name}:[/yellow] no base URL configured, using the built-in {EMULATOR_NAMES[name]} "
            f"emulator on http://127.0.0.1:{server.config.port}"
        )
    app = create_app(settings)
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on",
                                      log_config=None))
    ]
    servers.extend(server for _, server in emulated)
    configure_logging_from_env()  # again: the emulator apps set up logging of their own
    mode = "embedded (in-process worker)" if settings.embedded else "scale-out (arq workers)"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    console.print(f"gateway API on http://{host}:{port}, {mode}, "
                  f"database {settings.store.database_url.split('://')[0]}")
    console.print(f"ops console: http://{shown}:{port}/console (sign in with an ops API key)")
    for name, server in emulated:
        kept = getattr(server.config.app, "path", None)
        if kept is not None:
            console.print(f"{EMULATOR_NAMES[name]} emulator keeps its state in {kept}")
    checked = [Provider(name) for name, _ in [*emulated, *adopted]]

    speakers = ["gateway API", *(f"{EMULATOR_NAMES[name]} emulator" for name, _ in emulated)]
    _name_server_lines()

    async def named(speaker: str, server: uvicorn.Server) -> None:
        SPEAKER.set(speaker)  # this task's context only: its server's log lines carry the name
        await server.serve()

    async def run_all() -> None:
        warning = asyncio.create_task(_warn_if_reset(settings, servers, checked))
        try:
            await asyncio.gather(*(named(speaker, server) for speaker, server in zip(speakers, servers,
                                                                                       strict=True)))
        finally:
            warning.cancel()
            save_states(emulated)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the servers stopped, the states are saved
        asyncio.run(run_all())
    return 0


EMULATOR_NAMES = {"volue": "Volue", "zaehlerfreunde": "Zählerfreunde"}
SPEAKER: contextvars.ContextVar[str | None] = contextvars.ContextVar("speaker", default=None)
"""Which of the servers ``gateway serve`` runs in one process is speaking (set per server task)."""


class _ServerName(logging.Filter):
    """Starts uvicorn's lines ("Uvicorn running on ...", "Application startup complete") with
    the name of the server they are about: the three servers of ``gateway serve`` say the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        speaker = SPEAKER.get()
        if speaker and isinstance(record.msg, str) and not record.msg.startswith(speaker):
            record.msg = f"{speaker}: {record.msg}"
        return True


def _name_server_lines() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _ServerName) for f in logger.filters):
        logger.addFilter(_ServerName())


async def _warn_if_reset(settings: Settings, servers: Sequence[Any], providers: list[Any]) -> None:
    """Once every server answers: one warning line per emulated provider that no longer holds
    records the database says are synced there (an emulator reset or its state lost)."""
    from gateway.bootstrap import build_adapters
    from gateway.ops.check import missing_upstream, repair_hint
    from gateway.store.db import create_engine, session_factory

    while not all(server.started for server in servers):
        if any(server.should_exit for server in servers):
            return
        await asyncio.sleep(0.1)
    engine = create_engine(settings.store.database_url)
    try:
        async with build_adapters(settings) as adapters:
            for provider in providers:
                try:
                    missing = await missing_upstream(session_factory(engine), adapters, provider)
                except Exception as exc:
                    console.print(f"[yellow]{provider.value}:[/yellow] could not compare its records at "
                                  f"start ({type(exc).__name__}); `gateway check` compares them again")
                    continue
                if missing:
                    console.print(f"[yellow]warning:[/yellow] {repair_hint(provider, missing)}")
    finally:
        await engine.dispose()


def _worker(args: argparse.Namespace) -> int:
    from gateway.worker import run_arq_worker

    settings = _settings()
    if settings.embedded:
        console.print("[red]GATEWAY_REDIS_URL is not set:[/red] `gateway serve` runs the worker in-process")
        return 2
    run_arq_worker(settings, burst=args.burst)
    return 0


def _emulate(args: argparse.Namespace) -> int:
    from gateway.ops.emulators import build_emulator
    from providers.emulation import serve
    from providers.emulation.persistence import StateFile

    app = build_emulator(args.provider, token_ttl_s=args.token_ttl, seed=args.seed)
    if args.state:
        app = StateFile(app, Path(args.state), name=args.provider)
        loaded = "loaded" if app.loaded else "new"
        console.print(f"{EMULATOR_NAMES[args.provider]} emulator state: {args.state} ({loaded})")
    console.print(f"{EMULATOR_NAMES[args.provider]} emulator on http://{args.host}:{args.port}")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(app, host=args.host, port=args.port))
    finally:
        if isinstance(app, StateFile):
            app.save()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from gateway.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.store.database_url, args.revision)
    console.print(f"database at revision {args.revision}")
    return 0


def _db_revision(args: argparse.Namespace) -> int:
    from gateway.ops.revision import write_revision

    path = write_revision(_settings().store.database_url, args.message)
    if path is None:
        console.print("the models match the database: no revision written")
        return 0
    console.print(f"wrote {path}")
    return 0


async def _with_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from gateway.store.db import create_engine, session_factory

    engine = create_engine(settings.store.database_url)
    try:
        async with session_factory(engine)() as session:
            result = await fn(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def _keys_create(args: argparse.Namespace) -> int:
    from gateway.http.apikeys import create_key
    from gateway.http.audit import cli_actor, note

    async def create(session: AsyncSession) -> tuple[str, str]:
        row, key = create_key(session, args.name, args.scope, datetime.now(UTC))
        note(session, cli_actor(), "api_key.create", f"api_key:{row.id}",
             detail=f"{args.name!r} (prefix {row.prefix}) with scopes {', '.join(row.scopes)}")
        return row.prefix, key

    prefix, key = asyncio.run(_with_session(_settings(), create))
    scopes = ", ".join(sorted(set(args.scope)))
    console.print(f"created key {args.name!r} (prefix {prefix}) with scopes {scopes}")
    console.print("the key is shown once; store it now:")
    print(key)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from rich.table import Table
    from sqlalchemy import select
    from sqlmodel import col

    from gateway.ops.tables import id_column, results_console
    from gateway.store.tables import ApiKeyRow

    async def rows(session: AsyncSession) -> list[ApiKeyRow]:
        stmt = select(ApiKeyRow).order_by(col(ApiKeyRow.created_at))
        return [row for (row,) in await session.execute(stmt)]

    table = Table(id_column("id"), "name", "prefix", "scopes", "created", "revoked")
    for row in asyncio.run(_with_session(_settings(), rows)):
        table.add_row(row.id, row.name, row.prefix, " ".join(row.scopes),
                      str(row.created_at)[:19], str(row.revoked_at)[:19] if row.revoked_at else "")
    results_console(wide=args.wide).print(table)
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from gateway.http.apikeys import revoke_key
    from gateway.http.audit import cli_actor, entry

    async def revoke(session: AsyncSession) -> int:
        count = await revoke_key(session, args.key, datetime.now(UTC))
        session.add(entry(cli_actor(), "api_key.revoke", f"api_key:{args.key}",
                          result="ok" if count else "error",
                          detail=f"{count} key(s) revoked" if count else "no key with that id or prefix"))
        return count

    count = asyncio.run(_with_session(_settings(), revoke))
    if not count:
        console.print(f"[red]no key with id or prefix {args.key!r}[/red]")
        return 1
    console.print(f"revoked {count} key(s); running processes stop accepting it within 10 s")
    return 0


def _add_keys_commands(sub: Any) -> None:
    from gateway.http.apikeys import Scope

    keys = sub.add_parser("api-keys", help=COMMAND_HELP["api-keys"])
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="mint a key; it is printed once, as the last line")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, choices=[s.value for s in Scope])
    create.set_defaults(func=_keys_create)
    listing = keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--wide", action="store_true",
                         help="print the table at full width (the default when the output is not a terminal)")
    listing.set_defaults(func=_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("key")
    revoke.set_defaults(func=_keys_revoke)


def _check(args: argparse.Namespace) -> int:
    from gateway.ops.check import check_command

    return check_command(_settings())


def _add_volue_commands(sub: Any) -> None:
    from gateway.ops.volue_commands import add_volue_commands

    add_volue_commands(sub)


def _add_ops_commands(sub: Any) -> None:
    from gateway.ops.commands import add_ops_commands

    add_ops_commands(sub)


def _add_reconcile_command(sub: Any) -> None:
    from gateway.ops.reconcile_command import add_reconcile_command

    add_reconcile_command(sub)


COMMAND_HELP = {
    "api-keys": "manage API keys",
    "volue": "Volue integration: webhooks",
    "onboard": "create customers, sites and devices from a CSV file",
    "invite": "invite an email address to a site's Zählerfreunde space",
    "status": "each provider's circuit, then a customer's records or the dead and blocked tasks",
    "reconcile": "compare the records with what each provider holds; --repair queues the fixes",
}
"""The one-line help of each command whose arguments are built only when it is chosen
(tests/unit/test_cli_imports.py holds these equal to the helps the full parsers give)."""

LAZY_COMMANDS: list[tuple[tuple[str, ...], Callable[[Any], None]]] = [
    (("api-keys",), _add_keys_commands),
    (("volue",), _add_volue_commands),
    (("onboard", "invite", "status"), _add_ops_commands),
    (("reconcile",), _add_reconcile_command),
]
"""Commands whose module is imported only when one of them is chosen, with what adds them."""


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named on the command line (its first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``gateway`` parser; the chosen command (from ``argv``) gets its full arguments,
    the others a name and a help line (enough for ``gateway --help``)."""
    chosen = _chosen(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (and, without Redis, the worker and emulators)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run an arq sync worker (needs GATEWAY_REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(func=_worker)

    emulate = sub.add_parser("emulate", help="run one provider emulator standalone")
    emulate.add_argument("provider", choices=["volue", "zaehlerfreunde"])
    emulate.add_argument("--host", default="127.0.0.1")
    emulate.add_argument("--port", type=int, default=None)
    emulate.add_argument("--token-ttl", type=float, default=None, help="token lifetime in seconds")
    emulate.add_argument("--seed", type=int, default=0, help="seed for injected faults")
    emulate.add_argument("--state", metavar="FILE",
                         help="keep the emulator's state in FILE: loaded at start, written after changes")
    emulate.set_defaults(func=_emulate)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_db_upgrade)
    rev = db_sub.add_parser(
        "revision", help="write a new migration from the difference between the models and the "
                         "database at GATEWAY_DATABASE_URL (upgrade it first)")
    rev.add_argument("-m", "--message", required=True)
    rev.set_defaults(func=_db_revision)

    check = sub.add_parser("check", help="one-screen health summary: database, Redis, tokens, outbox")
    check.set_defaults(func=_check)
    for names, add in LAZY_COMMANDS:
        if chosen in names:
            add(sub)
        else:
            for name in names:
                sub.add_parser(name, help=COMMAND_HELP[name])
    return parser


LIGHT_COMMANDS = frozenset({"onboard", "invite", "status"})
"""Commands that only talk to a running gateway over HTTP: they print through rich and
need none of the logging set-up (structlog) the servers and database commands use."""


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(words).parse_args(words)
    if args.command not in LIGHT_COMMANDS:
        from gateway.observability.logging import configure_logging_from_env

        configure_logging_from_env()
    if args.command == "emulate" and args.port is None:
        args.port = 8101 if args.provider == "volue" else 8102
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
