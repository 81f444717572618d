"""The provider emulators as ``gateway serve`` and ``gateway emulate`` run them."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from gateway.core.settings import Settings
from providers.emulation import install_drop_log_filter


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


class EmulatorPortBusy(RuntimeError):
    """A built-in emulator's port is taken; the message says which settings choose otherwise."""


_STANDALONE = {
    "volue": ("GATEWAY_VOLUE_BASE_URL", "/energy-coordination/v1", "GATEWAY_VOLUE_EMULATOR_PORT"),
    "zaehlerfreunde": ("GATEWAY_ZF_BASE_URL", "/partner", "GATEWAY_ZF_EMULATOR_PORT"),
}


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


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
        if _port_taken(port):
            base_var, path, port_var = _STANDALONE[name]
            raise EmulatorPortBusy(
                f"port {port} for the built-in {name} emulator is in use. To use an emulator "
                f"already running there, set {base_var}=http://127.0.0.1:{port}{path}; "
                f"to start the built-in one elsewhere, set {port_var}."
            )
        app = build_emulator(name, client_id=client_id, client_secret=secret)
        # No log level and no log config of its own: uvicorn's loggers are shared with the
        # gateway's server in this process, and setting them here silenced its access log.
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        servers.append((name, uvicorn.Server(config)))
    return servers
