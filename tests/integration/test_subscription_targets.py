"""Subscriber webhooks go to public addresses only, unless allowed: refused at registration and again
at delivery on the addresses resolved then, connected to the address that was checked.

No test sends traffic off loopback: host names are resolved by a stand-in resolver, refused
addresses are never connected to, and the only receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from litestar import Litestar, Request, post
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core import targets
from gateway.core.targets import TargetPolicy, literal_address, refusal
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY
from tests.integration.test_subscriptions import _notify, _settings, _until

PUBLIC = "93.184.216.34"
"""A global address the stand-in resolver may answer; nothing ever connects to it."""

REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://localhost:5432/",
    "http://[::1]/hook",
    "http://0x7f.0.0.1/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.0.10/hook",
    "http://100.64.0.1/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://metadata.internal/computeMetadata",
]


class StandInResolver:
    """Answers host names from a table instead of asking any DNS server."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {"localhost": ["127.0.0.1", "::1"],
                                            "metadata.internal": ["169.254.169.254"]}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return self.table[host]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> StandInResolver:
    """Every lookup the gateway makes goes to the stand-in table."""
    stand_in = StandInResolver()
    monkeypatch.setattr(targets, "resolve", stand_in)
    return stand_in


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, Any]], int]]:
    """A webhook receiver on 127.0.0.1 recording the Host header of each call it gets."""
    calls: list[dict[str, Any]] = []

    @post("/in", status_code=204)
    async def receive(request: Request[Any, Any, Any]) -> None:
        calls.append({"host": request.headers.get("host")})

    app = Litestar(route_handlers=[receive], logging_config=None, openapi_config=None)
    with serve_in_thread(app) as url:
        yield calls, int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_registration_refuses_every_spelling_of_a_non_public_address(
    database_url: str, resolver: StandInResolver, url: str
) -> None:
    """Loopback, link-local, private, unique-local, multicast and unspecified targets are a 400 on url."""
    settings = _settings(database_url, forward_allowed_targets="")
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        response = await client.post("/v1/webhook-subscriptions", json={"url": url})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "url" and "may not go to" in response.json()["detail"]


async def test_registration_refuses_a_host_that_does_not_resolve(database_url: str,
                                                                 resolver: StandInResolver) -> None:
    """A name no resolver knows cannot be checked, so it is refused naming the url."""
    settings = _settings(database_url, forward_allowed_targets="")
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        response = await client.post("/v1/webhook-subscriptions", json={"url": "https://nowhere.test/in"})
    assert response.status_code == 400 and "does not resolve" in response.json()["detail"]


async def test_an_allowed_network_may_be_registered(database_url: str, resolver: StandInResolver) -> None:
    """GATEWAY_FORWARD_ALLOWED_TARGETS lets an operator permit an in-cluster network."""
    settings = _settings(database_url, forward_allowed_targets="10.0.0.0/8")
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        allowed = await client.post("/v1/webhook-subscriptions", json={"url": "http://10.1.2.3/hook"})
        other = await client.post("/v1/webhook-subscriptions", json={"url": "http://192.168.0.1/hook"})
    assert allowed.status_code == 201, allowed.text
    assert other.status_code == 400


async def test_delivery_refuses_a_name_that_now_resolves_to_loopback(
    database_url: str, resolver: StandInResolver, receiver: tuple[list[dict[str, Any]], int]
) -> None:
    """A host that was public at registration and resolves to loopback later gets nothing (no rebinding)."""
    calls, port = receiver
    resolver.table["hooks.partner.test"] = [PUBLIC]
    settings = _settings(database_url, forward_allowed_targets="")
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        created = await client.post("/v1/webhook-subscriptions",
                                    json={"url": f"http://hooks.partner.test:{port}/in"})
        assert created.status_code == 201, created.text
        resolver.table["hooks.partner.test"] = ["127.0.0.1"]
        await _notify(client, "ev-rebind")
        delivery = await _until(client, created.json()["id"], "retrying")
    assert "loopback" in delivery["lastError"]
    assert calls == []


async def test_delivery_connects_to_the_checked_address_with_the_name_in_host(
    database_url: str, resolver: StandInResolver, receiver: tuple[list[dict[str, Any]], int]
) -> None:
    """The connection goes to the resolved, allowed address; the Host header keeps the subscriber's name."""
    calls, port = receiver
    resolver.table["hooks.cluster.test"] = ["127.0.0.1"]
    settings = _settings(database_url, forward_allowed_targets="127.0.0.0/8")
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        created = await client.post("/v1/webhook-subscriptions",
                                    json={"url": f"http://hooks.cluster.test:{port}/in"})
        assert created.status_code == 201, created.text
        await _notify(client, "ev-pinned")
        await _until(client, created.json()["id"], "delivered")
    assert calls == [{"host": f"hooks.cluster.test:{port}"}]
    assert resolver.asked.count("hooks.cluster.test") >= 2


@pytest.mark.parametrize(("host", "address"), [
    ("0x7f.0.0.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("[::ffff:127.0.0.1]", "::ffff:7f00:1"), ("example.com", None),
    ("1.2.3.4.5", None), ("0x", None),
])
def test_literal_addresses_in_every_spelling(host: str, address: str | None) -> None:
    """Hex, octal, shortened and single-number IPv4 forms and bracketed IPv6 read as the address they are."""
    found = literal_address(host)
    assert (str(found) if found is not None else None) == address


def test_public_addresses_pass_and_mapped_ones_are_judged_by_their_ipv4() -> None:
    """A global address has no refusal; an IPv4-mapped IPv6 address is judged as the IPv4 inside."""
    assert refusal(ipaddress.ip_address(PUBLIC)) is None
    assert refusal(ipaddress.ip_address("::ffff:10.0.0.1")) == "private (IPv4-mapped of 10.0.0.1)"
    assert refusal(ipaddress.ip_address("2606:4700::1111")) is None


def test_the_allow_list_parses_networks_and_host_names_and_names_a_bad_entry() -> None:
    """Entries are CIDR networks or host names, comma-separated; anything else is refused by name."""
    policy = TargetPolicy.parse("10.0.0.0/8, hooks.internal., fd00::/8")
    assert policy.allows(ipaddress.ip_address("10.9.9.9")) and policy.allows(ipaddress.ip_address("fd00::5"))
    assert policy.allows(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert policy.hosts == frozenset({"hooks.internal"})
    with pytest.raises(ValueError, match="'not a/host'"):
        TargetPolicy.parse("not a/host")
