"""The provider emulators as ``gateway serve`` and ``gateway emulate`` run them.

The built-in emulators of ``gateway serve`` on a SQLite file keep their state beside it
(``gateway.db.volue-emulator.state``, ``gateway.db.zaehlerfreunde-emulator.state``; see
:mod:`providers.emulation.persistence`), so a restart finds what they held.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import msgspec
import uvicorn

from gateway.core.settings import Settings
from providers.emulation import install_drop_log_filter
from providers.emulation.persistence import StateFile


def build_emulator(name: str, *, token_ttl_s: float | None = None, seed: int = 0,
                   client_id: str | None = None, client_secret: str | None = None) -> Any:
    """The Litestar app of one provider emulator (``volue`` or ``zaehlerfreunde``)."""
    options: dict[str, Any] = {"seed": seed}
    if token_ttl_s is not None:
        options["token_ttl_s"] = token_ttl_s
    if client_id is not None:
        options["client_id"] = client_id
    if client_secret is not None:
        options["client_secret"] = client_secret
    if name == "volue":
        from providers.volue.emulator.app import create_app as volue_app

        return volue_app(**options)
    if name == "zaehlerfreunde":
        from providers.zaehlerfreunde.emulator.app import create_app as zf_app

        return zf_app(**options)
    raise ValueError(f"no emulator named {name!r}")


def state_path(settings: Settings, name: str) -> Path | None:
    """Where the built-in ``name`` emulator keeps its state: beside the SQLite database file
    (None for an in-memory or a PostgreSQL database)."""
    prefix = "sqlite+aiosqlite:///"
    url = settings.store.database_url
    if not url.startswith(prefix):
        return None
    database = url[len(prefix):].split("?")[0]
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return path.with_name(f"{path.name}.{name}-emulator.state")


def kept(app: Any, path: Path | None, name: str) -> Any:
    """``app`` keeping its state in ``path`` (the app itself when there is no path)."""
    return app if path is None else StateFile(app, path, name=name)


def save_states(servers: list[tuple[str, uvicorn.Server]]) -> None:
    """Write the state of every emulator among ``servers`` that keeps one (at shutdown)."""
    for _, server in servers:
        app = server.config.app
        if isinstance(app, StateFile):
            app.save()


class EmulatorPortBusy(RuntimeError):
    """A built-in emulator's port is taken; the message says which settings choose otherwise."""


_STANDALONE = {
    "volue": ("GATEWAY_VOLUE_BASE_URL", "/energy-coordination/v1", "GATEWAY_VOLUE_EMULATOR_PORT"),
    "zaehlerfreunde": ("GATEWAY_ZF_BASE_URL", "/partner", "GATEWAY_ZF_EMULATOR_PORT"),
}


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something on this machine listens on ``host:port`` (or the address cannot be had)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


_MARKER = {"volue": "users", "zaehlerfreunde": "spaces"}
"""An entity each emulator counts in ``GET /_emulator/stats`` and the other does not."""


def standalone_emulator(name: str, port: int, *, timeout_s: float = 2.0) -> str | None:
    """The base URL of a ``gateway emulate NAME`` already answering on ``port`` of this host,
    recognised by its control surface; None when nothing, or something else, answers there."""
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/_emulator/stats", timeout=timeout_s, trust_env=False)
        entities = response.json().get("entities", {}) if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    if not isinstance(entities, dict) or _MARKER[name] not in entities:
        return None
    return f"http://127.0.0.1:{port}{_STANDALONE[name][1]}"


def adopt_standalone(settings: Settings) -> tuple[Settings, list[tuple[str, str]]]:
    """Point each emulated provider whose emulator port is taken by that provider's standalone
    emulator at it; return the settings to serve with and the ``(name, base URL)`` adopted.

    A port taken by anything else is left for :func:`emulator_servers` to refuse.
    """
    adopted: list[tuple[str, str]] = []
    volue, zf = settings.volue, settings.zf
    if volue.emulated and port_taken(volue.emulator_port):
        url = standalone_emulator("volue", volue.emulator_port)
        if url is not None:
            volue = msgspec.structs.replace(volue, base_url=url)
            adopted.append(("volue", url))
    if zf.emulated and port_taken(zf.emulator_port):
        url = standalone_emulator("zaehlerfreunde", zf.emulator_port)
        if url is not None:
            zf = msgspec.structs.replace(zf, base_url=url)
            adopted.append(("zaehlerfreunde", url))
    return msgspec.structs.replace(settings, volue=volue, zf=zf), adopted


def emulator_servers(settings: Settings) -> list[tuple[str, uvicorn.Server]]:
    """One uvicorn server per provider whose base URL is left at ``emulated``.

    Raises :class:`EmulatorPortBusy` when an emulator's port is taken (for example by a
    standalone ``gateway emulate``), naming the setting that points the gateway at it.
    """
    install_drop_log_filter()
    servers = []
    wanted = [
        ("volue", settings.volue.emulated, settings.volue.emulator_port,
         settings.volue.client_id, settings.volue.client_secret.value),
        ("zaehlerfreunde", settings.zf.emulated, settings.zf.emulator_port,
         settings.zf.client_id, settings.zf.client_secret.value),
    ]
    for name, emulated, port, client_id, secret in wanted:
        if not emulated:
            continue
        if port_taken(port):
            base_var, path, port_var = _STANDALONE[name]
            raise EmulatorPortBusy(
                f"port {port} for the built-in {name} emulator is in use by something that is not "
                f"a {name} emulator. To use a {name} API running there, set "
                f"{base_var}=http://127.0.0.1:{port}{path}; to start the built-in emulator "
                f"elsewhere, set {port_var}."
            )
        app = kept(build_emulator(name, client_id=client_id, client_secret=secret),
                   state_path(settings, name), name)
        # No log level and no log config of its own: uvicorn's loggers are shared with the
        # gateway's server in this process, and setting them here silenced its access log.
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        servers.append((name, uvicorn.Server(config)))
    return servers
