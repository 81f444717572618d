"""Build one provider's adapter from its config: one pooled HTTP client and token each.

``gateway.bootstrap.build_adapters`` turns settings into these configs.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from providers.http import ProviderHttp, client_options
from providers.pacing import PacedTransport, Pacer
from providers.tokens import AsyncOAuth2Client, OAuth2ClientCredentials
from providers.volue.adapter import VolueAdapter
from providers.volue.client import VolueClient
from providers.zaehlerfreunde.adapter import ZaehlerfreundeAdapter
from providers.zaehlerfreunde.client import ZaehlerfreundeClient
from providers.zaehlerfreunde.tokens import JsonTokenProvider


class VolueConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Where and as whom to reach Volue.

    ``base_url`` ends in ``/energy-coordination/v1``; ``token_url`` is the OAuth2
    token endpoint; a token is renewed ``token_leeway_s`` before it expires.
    """

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    timeout_s: float = 10.0
    max_connections: int = 50
    token_leeway_s: float = 60.0

    def __repr__(self) -> str:
        return (
            f"VolueConfig(base_url={self.base_url!r}, token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, client_secret='***')"
        )


class ZaehlerfreundeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Where and as whom to reach Zählerfreunde.

    ``base_url`` ends in ``/partner``; tokens state no lifetime, so one is renewed
    after ``token_refresh_age_s`` (23 h; they live a day).
    """

    base_url: str
    client_id: str
    client_secret: str
    timeout_s: float = 10.0
    max_connections: int = 50
    token_refresh_age_s: float = 82_800.0

    def __repr__(self) -> str:
        return (
            f"ZaehlerfreundeConfig(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            "client_secret='***')"
        )


def _paced(options: dict[str, Any], pacer: Pacer | None) -> dict[str, Any]:
    """``options`` with their transport behind ``pacer`` (when there is one)."""
    inner = options["transport"]
    if pacer is None or not isinstance(inner, httpx.AsyncBaseTransport):
        return options
    return {**options, "transport": PacedTransport(inner, pacer)}


def build_volue(config: VolueConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                pacer: Pacer | None = None) -> VolueAdapter:
    """The Volue adapter on an authlib client that fetches client-credentials tokens.

    Requests and token fetches share one client on ``transport`` (default: the pooled
    :class:`providers.transport.UpstreamTransport`), each waiting for a slot from ``pacer``
    when one is given (the provider's request rate ceiling).
    """
    options = _paced(client_options(timeout_s=config.timeout_s, max_connections=config.max_connections,
                                    transport=transport), pacer)
    client = AsyncOAuth2Client(
        base_url=config.base_url.rstrip("/"),
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint=config.token_url,
        token_endpoint_auth_method="client_secret_post",
        grant_type="client_credentials",
        leeway=config.token_leeway_s,
        **options,
    )
    http = ProviderHttp(client=client, transport=options["transport"],
                        tokens=OAuth2ClientCredentials(client=client))
    return VolueAdapter(client=VolueClient(http=http))


def build_zaehlerfreunde(
    config: ZaehlerfreundeConfig, *, transport: httpx.AsyncBaseTransport | None = None,
    pacer: Pacer | None = None,
) -> ZaehlerfreundeAdapter:
    """The Zählerfreunde adapter with its JSON token endpoint (one client on ``transport``,
    paced by ``pacer`` when one is given)."""
    options = _paced(client_options(timeout_s=config.timeout_s, max_connections=config.max_connections,
                                    transport=transport), pacer)
    client = httpx.AsyncClient(base_url=config.base_url.rstrip("/"), **options)
    tokens = JsonTokenProvider(
        client=client,
        client_id=config.client_id,
        client_secret=config.client_secret,
        refresh_age_s=config.token_refresh_age_s,
    )
    http = ProviderHttp(client=client, transport=options["transport"], tokens=tokens)
    return ZaehlerfreundeAdapter(client=ZaehlerfreundeClient(http=http))

