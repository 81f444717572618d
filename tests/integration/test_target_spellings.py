"""Every spelling of a non-public webhook address is refused, at registration (400 on ``url``) and by
the check each delivery runs before it connects; public addresses in the same spellings pass.

Nothing here connects anywhere: names are answered by a stand-in table, and socket connections
are made to fail the test while the refusals are checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core import targets
from gateway.core.targets import TargetPolicy, TargetRefused, check_target, embedded_ipv4, refusal
from gateway.events import forwarding
from tests.conftest import ADMIN_KEY
from tests.integration.test_subscriptions import _settings

NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "metadata.google.internal": ["169.254.169.254"],
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "rebound.test": ["93.184.216.34", "10.0.0.1"],
    "six.test": ["2002:7f00:1::"],
}
"""What the stand-in resolver answers; a name with one refused address among public ones is refused."""

REFUSED = [
    # the findings: 6to4 of loopback, of the metadata address, of a private one; site-local
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[2002:c0a8:101::]/",
    "http://[fec0::1]/",
    # IPv4 spelt oddly: decimal, octal, hex, short, mixed, full-width, trailing dot
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://0x7f.0.0.01/",
    "http://127.0.1/",
    "http://127.0.0.1./",
    "http://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11/",
    "http://0/",
    "http://0x0/",
    "http://2852039166/",  # 169.254.169.254
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://10.1/",
    # IPv4 special-purpose ranges
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://192.0.2.1/",
    "http://198.51.100.7/",
    "http://203.0.113.9/",
    "http://198.18.0.1/",
    "http://198.19.255.1/",
    "http://0.1.2.3/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://239.255.255.250/",
    "http://192.0.0.9/",
    "http://172.31.255.255/",
    # IPv6 forms carrying an IPv4 address
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[0:0:0:0:0:ffff:7f00:0001]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::8.8.8.8]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1 (inverted)
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
    "http://[2a00:1450::5efe:a00:1]/",  # ISATAP interface id of 10.0.0.1
    "http://[2002:0a00:0001::1]/",
    "http://[2002:6440:1::]/",  # 6to4 of 100.64.0.1
    # IPv6 ranges
    "http://[::1]/",
    "http://[::]/",
    "http://[fd00::1]/",
    "http://[fc00::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[FEC0::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[3fff::1]/",
    "http://[100::1]/",
    "http://[4000::1]/",
    # names whose answers are refused
    "http://localhost/",
    "http://localhost./",
    "http://LOCALHOST:8080/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://127.0.0.1.nip.io/",
    "http://rebound.test/",
    "http://six.test/",
]

PUBLIC = [
    "http://93.184.216.34/",
    "http://1572395042/",  # 93.184.216.34 as one number
    "http://[2002:5db8:d822::1]/",  # 6to4 of 93.184.216.34
    "http://[64:ff9b::5db8:d822]/",  # NAT64 of 93.184.216.34
    "http://[2001:0:4136:e378:8000:63bf:a247:27dd]/",  # Teredo, client 93.184.216.34 (inverted)
    "http://[::ffff:93.184.216.34]/",
    "http://[2606:4700::1111]/",
]


class StandInResolver:
    """Answers from :data:`NAMES` and records every name asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in NAMES:
            raise OSError(f"no such host {host}")
        return NAMES[host]


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any socket connection attempted is recorded and fails."""
    tried: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        tried.append(address)
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return tried


def test_the_table_is_large_and_the_delivery_uses_the_same_check() -> None:
    """At least 40 refused spellings, and deliveries call the very check registration calls."""
    assert len(set(REFUSED)) == len(REFUSED) >= 40
    assert forwarding.check_target is targets.check_target


@pytest.mark.parametrize("url", REFUSED)
async def test_the_delivery_check_refuses_every_spelling(url: str, no_connections: list[Any]) -> None:
    """Before a delivery connects, a non-public target in any spelling raises TargetRefused."""
    with pytest.raises(TargetRefused, match="may not go to"):
        await check_target(url, TargetPolicy(), resolver=StandInResolver())
    assert no_connections == []


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_addresses_pass_in_every_spelling(url: str, no_connections: list[Any]) -> None:
    """Public IPv4 and IPv6 addresses, and transition forms of a public IPv4 address, are deliverable."""
    checked = await check_target(url, TargetPolicy(), resolver=StandInResolver())
    assert refusal(checked.address) is None
    assert no_connections == []


async def test_registration_refuses_every_spelling_naming_the_url(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, no_connections: list[Any]
) -> None:
    """Each refused spelling is a 400 problem on ``url`` at subscription create, and nothing is stored."""
    monkeypatch.setattr(targets, "resolve", StandInResolver())
    settings = _settings(sqlite_url, forward_allowed_targets="")
    wrong: dict[str, Any] = {}
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        for url in REFUSED:
            response = await client.post("/v1/webhook-subscriptions", json={"url": url})
            body = response.json()
            if (response.status_code != 400 or body.get("field") != "url"
                    or "may not go to" not in body.get("detail", "")):
                wrong[url] = (response.status_code, body)
        listed = (await client.get("/v1/webhook-subscriptions")).json()["items"]
    assert wrong == {}
    assert listed == []
    assert no_connections == []


@pytest.mark.parametrize(("address", "reason"), [
    ("2002:7f00:1::", "loopback (6to4 of 127.0.0.1)"),
    ("2002:a9fe:a9fe::", "link-local (6to4 of 169.254.169.254)"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback (Teredo of 127.0.0.1)"),
    ("64:ff9b::c0a8:1", "private (NAT64 of 192.168.0.1)"),
    ("fec0::1", "site-local"),
    ("100.64.0.1", "shared address space (carrier-grade NAT)"),
    ("255.255.255.255", "broadcast"),
])
def test_a_refusal_names_the_range_and_the_address_reached(address: str, reason: str) -> None:
    """The reason names the range, and for an IPv6 form carrying IPv4, the form and the IPv4 address."""
    assert refusal(ipaddress.ip_address(address)) == reason


def test_forms_without_an_embedded_address_carry_none() -> None:
    """Only the IPv6 forms that carry an IPv4 address are unwrapped; ordinary addresses are judged as is."""
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1111")) is None
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) is None
    loopback = ipaddress.IPv4Address("127.0.0.1")
    assert embedded_ipv4(ipaddress.IPv6Address("2002:7f00:1::")) == ("6to4", loopback)
