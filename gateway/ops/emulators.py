"""The provider emulators as ``gateway serve`` and ``gateway emulate`` run them."""

from __future__ import annotations

from typing import Any

import uvicorn

from gateway.core.settings import Settings


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


def emulator_servers(settings: Settings) -> list[tuple[str, uvicorn.Server]]:
    """One uvicorn server per provider whose base URL is left at ``emulated``."""
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
        app = build_emulator(name, client_id=client_id, client_secret=secret)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        servers.append((name, uvicorn.Server(config)))
    return servers
