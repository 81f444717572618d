"""``gateway volue webhooks register|list|update|enable|disable|logs|delete``: the webhooks
Volue sends our events to, and Volue's log of its delivery attempts.

``register`` creates the webhook at Volue with a freshly generated secret and
keeps the secret encrypted at rest (``gateway.core.secrets_box``), so the receiver
(``POST /v1/providers/volue/webhook``) can verify what Volue signs with it.

The secret is stored before the request goes out, so it cannot be lost with the answer:
a registration is kept ``pending`` under a ``pending-...`` id (its secret already accepted
by the receiver) and takes Volue's id from the answer. When the answer is lost or has no
body, listing Volue's webhooks decides: the one with this registration's URL and name (or
URL alone, when Volue's listing leaves names out) that the gateway does not hold yet is it;
none means the request did not take. A registration still pending (the listing failed, or
several webhooks matched) is resolved by the next ``register`` or ``list``. A rotation
keeps the new secret as pending beside the old one, both accepted, until Volue confirms it.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlmodel import col

from gateway.bootstrap import build_adapters
from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import Settings, SettingsError, load_settings
from gateway.http.audit import cli_actor, entry
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import VolueWebhookRow
from providers.base import ProviderError, TransientError, Webhook, WebhookLog, WebhookRegistry
from providers.registry import event_format

console = Console(stderr=True, soft_wrap=True)
WEBHOOK_NAME = "energy-gateway"
TYPES = list(event_format(Provider.VOLUE).event_types)
"""Volue's notification types, which a webhook may be registered for."""


PENDING_PREFIX = "pending-"
"""The id a registration is stored under until Volue's id for it is known."""


class Unresolved(ProviderError):
    """A registration whose outcome at Volue is not known yet; its secret stays accepted."""


def _sure_not_sent(error: ProviderError) -> bool:
    """Whether Volue certainly did not create anything for the request that failed so."""
    return not isinstance(error, TransientError) or not error.maybe_sent


def _match(row: VolueWebhookRow, hooks: Sequence[Webhook], held: set[str]) -> list[Webhook]:
    """Volue's webhooks a pending registration may have created: its URL, not held by us, and
    its name unless Volue's listing leaves names out."""
    found = [h for h in hooks if h.url == row.url and h.webhook_id not in held]
    named = [h for h in found if h.name is not None and h.name == row.name]
    return named or [h for h in found if h.name is None]


async def _confirm(session: Any, row: VolueWebhookRow, hook: Webhook) -> VolueWebhookRow:
    """Store a pending registration under Volue's id for it."""
    confirmed = VolueWebhookRow(webhook_id=hook.webhook_id, url=hook.url,
                                notification_types=list(hook.types) or list(row.notification_types),
                                secret_sealed=row.secret_sealed, created_at=row.created_at,
                                name=row.name)
    await session.delete(row)
    await session.flush()
    session.add(confirmed)
    return confirmed


class Settled(msgspec.Struct, frozen=True, kw_only=True):
    """What listing Volue's webhooks made of the pending registrations."""

    confirmed: dict[str, Webhook]
    """Pending id -> the webhook it created."""
    forgotten: list[str]
    """Pending ids that created nothing (their rows are gone)."""
    undecided: list[str]
    """Pending ids that match several webhooks; still pending."""


async def resolve_pending(registry: WebhookRegistry, sessions: Any,
                          hooks: Sequence[Webhook] | None = None) -> Settled:
    """Settle every pending registration against Volue's listing (``hooks``, listed when not
    given): take the id of the one webhook it created, or forget it when it created none."""
    settled = Settled(confirmed={}, forgotten=[], undecided=[])
    async with sessions() as session:
        rows = list((await session.execute(select(VolueWebhookRow))).scalars())
        pending = [row for row in rows if row.pending]
        if not pending:
            return settled
        if hooks is None:
            hooks = await registry.list_webhooks()
        held = {row.webhook_id for row in rows if not row.pending}
        for row in pending:
            found = _match(row, hooks, held)
            if len(found) == 1:
                pending_id = row.webhook_id
                held.add((await _confirm(session, row, found[0])).webhook_id)
                settled.confirmed[pending_id] = found[0]
            elif not found:
                settled.forgotten.append(row.webhook_id)
                await session.delete(row)
            else:
                settled.undecided.append(row.webhook_id)
        await session.commit()
    return settled


async def register_webhook(settings: Settings, *, url: str, types: Sequence[str] = ()) -> Webhook:
    """Create a webhook at Volue for ``url`` with a new secret, stored encrypted (as pending)
    before the request; a lost or bodiless answer is settled by listing Volue's webhooks."""
    box = SecretsBox.from_settings(settings)
    secret = secrets.token_urlsafe(32)
    token = uuid.uuid4().hex
    pending_id, name = PENDING_PREFIX + token, f"{WEBHOOK_NAME}-{token[:12]}"
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    try:
        async with build_adapters(settings) as adapters:
            registry = adapters.webhook_registry(Provider.VOLUE)
            await resolve_pending(registry, sessions)
            async with sessions() as session:
                session.add(VolueWebhookRow(webhook_id=pending_id, url=url, name=name,
                                            notification_types=list(types), secret_sealed=box.seal(secret),
                                            created_at=utcnow(), pending=True))
                await session.commit()
            try:
                created = await registry.register_webhook(url=url, name=name, secret=secret, types=types)
            except ProviderError as error:
                if _sure_not_sent(error):
                    await _forget(sessions, pending_id)
                    raise
                return await _settle(registry, sessions, pending_id, error)
            async with sessions() as session:
                row = await session.get(VolueWebhookRow, pending_id)
                if row is not None:
                    await _confirm(session, row, created)
                    await session.commit()
            return created
    finally:
        await engine.dispose()


async def _forget(sessions: Any, webhook_id: str) -> None:
    async with sessions() as session:
        row = await session.get(VolueWebhookRow, webhook_id)
        if row is not None:
            await session.delete(row)
            await session.commit()


async def _settle(registry: WebhookRegistry, sessions: Any, pending_id: str, error: ProviderError) -> Webhook:
    """After an answer that did not name the webhook (lost, or bodiless): find it in Volue's
    listing. Raises ``error`` when the request created none, :class:`Unresolved` when that
    cannot be told yet."""
    try:
        settled = await resolve_pending(registry, sessions)
    except ProviderError as listing:
        raise Unresolved(f"{error.message}; listing Volue's webhooks failed too ({listing.message}). "
                         "The new secret is kept and accepted; the next register or list settles "
                         "the registration", status=error.status, route=error.route) from None
    if pending_id in settled.confirmed:
        return settled.confirmed[pending_id]
    if pending_id in settled.undecided:
        raise Unresolved(f"{error.message}; several of Volue's webhooks for this URL may be the new "
                         "one. Its secret is kept and accepted; delete the extra ones at Volue and "
                         "run list", status=error.status, route=error.route)
    raise error


async def list_webhooks(settings: Settings) -> list[tuple[Webhook, bool]]:
    """Volue's webhooks, each with whether the gateway holds its secret (pending registrations
    are settled against the listing first)."""
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    try:
        async with build_adapters(settings) as adapters:
            registry = adapters.webhook_registry(Provider.VOLUE)
            hooks = await registry.list_webhooks()
            await resolve_pending(registry, sessions, hooks)
        async with sessions() as session:
            ours = set((await session.execute(select(col(VolueWebhookRow.webhook_id)))).scalars())
    finally:
        await engine.dispose()
    return [(hook, hook.webhook_id in ours) for hook in hooks]


async def delete_webhook(settings: Settings, webhook_id: str) -> bool:
    """Delete the webhook at Volue and forget its secret; False when neither knew it."""
    async with build_adapters(settings) as adapters:
        upstream = await adapters.webhook_registry(Provider.VOLUE).delete_webhook(webhook_id)
    engine = create_engine(settings.store.database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(VolueWebhookRow, webhook_id)
            if row is not None:
                await session.delete(row)
                await session.commit()
    finally:
        await engine.dispose()
    return upstream or row is not None


async def update_webhook(settings: Settings, webhook_id: str, *, url: str | None = None,
                         types: Sequence[str] | None = None, rotate_secret: bool = False) -> Webhook | None:
    """Change a webhook's URL or event types at Volue; ``rotate_secret`` gives it a new secret.

    The new secret is stored (encrypted, as the pending one beside the current one) before
    the request, so both are accepted while the answer is awaited or lost; once Volue
    confirms the change it replaces the old one. None when Volue has no such webhook.
    """
    box = SecretsBox.from_settings(settings)
    secret = secrets.token_urlsafe(32) if rotate_secret else None
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    added = False
    try:
        if secret is not None:
            async with sessions() as session:
                row = await session.get(VolueWebhookRow, webhook_id)
                if row is None:
                    added = True
                    row = VolueWebhookRow(webhook_id=webhook_id, url=url or "", notification_types=[],
                                          secret_sealed=box.seal(secret), created_at=utcnow())
                else:
                    row.pending_secret_sealed = box.seal(secret)
                session.add(row)
                await session.commit()
        try:
            async with build_adapters(settings) as adapters:
                changed = await adapters.webhook_registry(Provider.VOLUE).update_webhook(
                    webhook_id, url=url, types=types, secret=secret)
        except ProviderError as error:
            if secret is not None and _sure_not_sent(error):
                await _drop_rotation(sessions, webhook_id, added=added)
            raise
        async with sessions() as session:
            row = await session.get(VolueWebhookRow, webhook_id)
            if row is not None and changed is not None:
                row.url = changed.url
                row.notification_types = list(changed.types)
                if row.pending_secret_sealed is not None and secret is not None:
                    row.secret_sealed, row.pending_secret_sealed = row.pending_secret_sealed, None
                session.add(row)
                await session.commit()
        if changed is None and secret is not None:
            await _drop_rotation(sessions, webhook_id, added=added)
    finally:
        await engine.dispose()
    return changed


async def _drop_rotation(sessions: Any, webhook_id: str, *, added: bool) -> None:
    """Forget a rotation Volue did not carry out: the pending secret, or the row made for it."""
    async with sessions() as session:
        row = await session.get(VolueWebhookRow, webhook_id)
        if row is None:
            return
        if added:
            await session.delete(row)
        else:
            row.pending_secret_sealed = None
            session.add(row)
        await session.commit()


async def set_enabled(settings: Settings, webhook_id: str, enabled: bool) -> bool:
    """Enable or disable a webhook at Volue; False when Volue has no such webhook."""
    async with build_adapters(settings) as adapters:
        return await adapters.webhook_registry(Provider.VOLUE).set_webhook_enabled(webhook_id, enabled)


async def webhook_logs(settings: Settings, webhook_id: str | None, limit: int) -> list[WebhookLog]:
    """Volue's most recent notification attempts, newest first."""
    async with build_adapters(settings) as adapters:
        return await adapters.webhook_registry(Provider.VOLUE).webhook_logs(webhook_id, limit)


class _Refused(SystemExit):
    """A command's end after a refusal it printed: its exit status and what it said."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code)
        self.detail = detail


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise _Refused(2, f"configuration error: {exc}") from None
    except Unresolved as exc:
        console.print(f"[yellow]not settled yet:[/yellow] {exc.message}")
        raise _Refused(1, f"not settled yet: {exc.message}") from None
    except ProviderError as exc:
        console.print(f"[red]Volue refused:[/red] {exc.message}")
        raise _Refused(1, f"Volue refused: {exc.message}") from None


Command = Callable[[argparse.Namespace], int]


def _note(action: str, target: str, result: str, detail: str | None) -> None:
    """Put a command's action into the audit trail (a failure to do so is only reported)."""
    async def write() -> None:
        engine = create_engine(load_settings().store.database_url)
        try:
            async with session_factory(engine)() as session:
                session.add(entry(cli_actor(), action, target, result=result, detail=detail))
                await session.commit()
        finally:
            await engine.dispose()

    try:
        asyncio.run(write())
    except Exception as exc:
        console.print(f"[yellow]not written to the audit trail:[/yellow] {exc}")


def _audited(action: str, target: Callable[[argparse.Namespace], str]) -> Callable[[Command], Command]:
    """A webhook command whose run (done, or refused and why) goes into the audit trail."""
    def wrap(command: Command) -> Command:
        def run(args: argparse.Namespace) -> int:
            try:
                code = command(args)
            except _Refused as exc:
                _note(action, target(args), "error", exc.detail)
                raise
            _note(action, target(args), "ok" if code == 0 else "error",
                  None if code == 0 else f"exit status {code}: no such webhook, or nothing to change")
            return code
        return run
    return wrap


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise SystemExit(2) from None


def _register(args: argparse.Namespace) -> int:
    hook: Webhook = _run(register_webhook(_settings(), url=args.url, types=args.types or ()))
    kinds = ", ".join(hook.types) or "all event types"
    console.print(f"registered webhook {hook.webhook_id} for {hook.url} ({kinds}); "
                  "its secret is stored encrypted")
    print(hook.webhook_id)
    return 0


def _list(args: argparse.Namespace) -> int:
    table = Table("id", "url", "types", "enabled", "status", "secret held")
    for hook, ours in _run(list_webhooks(_settings())):
        table.add_row(hook.webhook_id, hook.url, " ".join(hook.types) or "all",
                      "yes" if hook.enabled else "no", hook.status, "yes" if ours else "no")
    Console().print(table)
    return 0


def _delete(args: argparse.Namespace) -> int:
    if not _run(delete_webhook(_settings(), args.webhook_id)):
        console.print(f"[red]no webhook {args.webhook_id!r} at Volue or here[/red]")
        return 1
    console.print(f"deleted webhook {args.webhook_id}")
    return 0


def _update(args: argparse.Namespace) -> int:
    if args.url is None and args.types is None and not args.rotate_secret:
        console.print("[red]nothing to change: give --url, --types or --rotate-secret[/red]")
        return 2
    hook: Webhook | None = _run(update_webhook(_settings(), args.webhook_id, url=args.url,
                                               types=args.types, rotate_secret=args.rotate_secret))
    if hook is None:
        console.print(f"[red]no webhook {args.webhook_id!r} at Volue[/red]")
        return 1
    kinds = ", ".join(hook.types) or "all event types"
    secret = "; its new secret is stored encrypted" if args.rotate_secret else ""
    console.print(f"updated webhook {hook.webhook_id}: {hook.url} ({kinds}){secret}")
    return 0


def _enabled(enabled: bool) -> Any:
    def command(args: argparse.Namespace) -> int:
        if not _run(set_enabled(_settings(), args.webhook_id, enabled)):
            console.print(f"[red]no webhook {args.webhook_id!r} at Volue[/red]")
            return 1
        console.print(f"{'enabled' if enabled else 'disabled'} webhook {args.webhook_id}")
        return 0
    return command


def _logs(args: argparse.Namespace) -> int:
    table = Table("sent", "notification", "webhook", "type", "status", "ms", "url")
    for log in _run(webhook_logs(_settings(), args.webhook_id, args.limit)):
        status = "timeout" if log.timed_out else str(log.status_code or "-")
        sent = log.sent_at.isoformat(timespec="seconds") if log.sent_at is not None else "-"
        table.add_row(sent, log.notification_id or "-",
                      log.webhook_id, log.event_type or "-", status,
                      str(log.duration_ms) if log.duration_ms is not None else "-", log.url)
    Console().print(table)
    return 0


def add_volue_commands(sub: Any) -> None:
    """Add ``volue webhooks register|list|update|enable|disable|logs|delete`` to the
    ``gateway`` parser's subcommands."""
    volue = sub.add_parser("volue", help="Volue integration: webhooks")
    volue_sub = volue.add_subparsers(dest="volue_command", required=True)
    hooks = volue_sub.add_parser("webhooks", help="the webhooks Volue sends events to")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    register = hooks_sub.add_parser("register", help="create one with a new secret (stored encrypted)")
    register.add_argument("--url", required=True,
                          help="where Volue posts, e.g. https://gateway.example/v1/providers/volue/webhook")
    register.add_argument("--types", nargs="+", choices=TYPES, metavar="TYPE",
                          help=f"notification types (default: all): {', '.join(TYPES)}")
    register.set_defaults(func=_audited("webhook.register", lambda a: f"webhook:{a.url}")(_register))
    hooks_sub.add_parser("list", help="Volue's webhooks").set_defaults(func=_list)
    update = hooks_sub.add_parser("update", help="change a webhook's URL, types or secret")
    update.add_argument("webhook_id")
    update.add_argument("--url", help="the new URL Volue posts to")
    update.add_argument("--types", nargs="+", choices=TYPES, metavar="TYPE",
                        help=f"the new notification types: {', '.join(TYPES)}")
    update.add_argument("--rotate-secret", action="store_true",
                        help="give it a new secret (stored encrypted here)")
    update.set_defaults(func=_audited("webhook.update", lambda a: f"webhook:{a.webhook_id}")(_update))
    for name, enabled in (("enable", True), ("disable", False)):
        toggle = hooks_sub.add_parser(name, help=f"{name} a webhook at Volue")
        toggle.add_argument("webhook_id")
        toggle.set_defaults(func=_audited(f"webhook.{name}", lambda a: f"webhook:{a.webhook_id}")(
            _enabled(enabled)))
    logs = hooks_sub.add_parser("logs", help="Volue's recent notification attempts and their status")
    logs.add_argument("--webhook-id", help="only this webhook's attempts")
    logs.add_argument("--limit", type=int, default=50, choices=range(1, 1001), metavar="N",
                      help="how many of the most recent attempts (1-1000, default 50)")
    logs.set_defaults(func=_logs)
    delete = hooks_sub.add_parser("delete", help="delete one at Volue and forget its secret")
    delete.add_argument("webhook_id")
    delete.set_defaults(func=_audited("webhook.delete", lambda a: f"webhook:{a.webhook_id}")(_delete))
