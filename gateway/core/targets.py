"""Where subscriber webhooks may be delivered: public addresses only, unless allowed.

A subscription's URL is checked when it is registered and again before every
delivery, on the addresses its host resolves to at that moment. Refused by default:
loopback, link-local (cloud metadata at 169.254.169.254 included), private,
unique-local, multicast, unspecified and other reserved addresses, in every
spelling a URL can carry (``0x7f.0.0.1``, ``2130706433``, ``0177.0.0.1``, ``127.1``,
``[::ffff:127.0.0.1]``, ...). ``GATEWAY_FORWARD_ALLOWED_TARGETS`` lists networks
(CIDR) and host names that are allowed anyway, for an operator's in-cluster
services. A delivery connects to the address that was checked (the host name goes
in the ``Host`` header and TLS SNI), so a DNS answer that changes between the
check and the connection cannot redirect it; redirects are never followed.

Errors::

    TargetRefused        the URL's host is, or resolves to, an address not allowed
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Host and port to the addresses (as text) a connection would try."""

_LEGACY_IPV4 = re.compile(r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class TargetRefused(ValueError):
    """The URL's host is, or resolves to, an address that webhooks may not be sent to."""


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, as the system resolver answers."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, in any spelling; None for a name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:  # the forms inet_aton takes: hex and octal parts, fewer than four parts, one number
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved or not address.is_global),
    ):
        if hit:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """The networks and host names allowed besides public addresses."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> TargetPolicy:
        """``10.0.0.0/8, hooks.internal`` → a policy; raises ValueError naming a bad entry."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not re.fullmatch(r"[A-Za-z0-9.-]+", entry):
                    raise ValueError(f"{entry!r} is neither a network (CIDR) nor a host name") from None
                hosts.add(entry.lower().rstrip("."))
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    def allows(self, address: IPAddress) -> bool:
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return any(a in n for n in self.networks for a in (address, mapped) if a is not None
                   and a.version == n.version)


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    """A URL and the address a delivery to it connects to."""

    url: SplitResult
    address: IPAddress

    @property
    def host(self) -> str:
        return self.url.hostname or ""

    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (the connection goes there)."""
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{ip}:{self.url.port}" if self.url.port else ip
        return self.url._replace(netloc=netloc).geturl()

    def host_header(self) -> str:
        """What the ``Host`` header says: the URL's host and port as written."""
        return self.url.netloc.rsplit("@", 1)[-1]


def _port(url: SplitResult) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def check_registration(url: str, policy: TargetPolicy, *, resolver: Resolver | None = None) -> None:
    """Refuse (:class:`TargetRefused`) a subscription URL no delivery could be sent to.

    A host name on the allow-list is trusted without a lookup; any other is resolved now
    and again before each delivery.
    """
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host and host in policy.hosts:
        return
    await check_target(url, policy, resolver=resolver)


async def check_target(url: str, policy: TargetPolicy, *, resolver: Resolver | None = None) -> CheckedTarget:
    """The address a delivery to ``url`` may connect to, or :class:`TargetRefused` saying why not."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise TargetRefused("url needs a host")
    literal = literal_address(host)
    if literal is not None:
        candidates: list[IPAddress] = [literal]
    else:
        try:
            answers = await (resolver or resolve)(host, _port(parts))
        except OSError as exc:
            raise TargetRefused(f"host {host} does not resolve: {exc}") from None
        candidates = [ip for ip in (literal_address(a) for a in answers) if ip is not None]
        if not candidates:
            raise TargetRefused(f"host {host} resolves to no address")
    if host not in policy.hosts:
        for address in candidates:
            reason = refusal(address)
            if reason is not None and not policy.allows(address):
                shown = host if literal is not None else f"{host} ({address})"
                raise TargetRefused(
                    f"webhooks may not go to {reason} addresses: {shown}; "
                    "GATEWAY_FORWARD_ALLOWED_TARGETS can allow a network or host")
    return CheckedTarget(url=parts, address=candidates[0])
