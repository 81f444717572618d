"""Where subscriber webhooks may be delivered: public addresses only, unless allowed.

A subscription's URL is checked when it is registered and again before every
delivery, on the addresses its host resolves to at that moment, by one function
(:func:`refusal`). Refused by default: loopback, link-local (cloud metadata at
169.254.169.254 included), private, shared (100.64.0.0/10), unique-local, site-local,
multicast, broadcast, unspecified, documentation, benchmarking and other reserved
addresses, in every spelling a URL can carry (``0x7f.0.0.1``, ``2130706433``,
``0177.0.0.1``, ``127.1``, full-width digits, ``[::ffff:127.0.0.1]``, ...). An IPv6
address that carries an IPv4 one (IPv4-mapped, -compatible and -translated, NAT64,
6to4, Teredo, ISATAP) is judged by the IPv4 address it reaches, so
``[2002:7f00:1::]`` (6to4 of 127.0.0.1) is loopback. ``GATEWAY_FORWARD_ALLOWED_TARGETS`` lists networks
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
import unicodedata
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


_FULL_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
"""Dots IDNA reads as ``.`` in a host name (ideographic, full-width and half-width full stops)."""


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, in any spelling; None for a name.

    The host is first read as IDNA would (compatibility forms such as full-width digits
    and dots folded), so ``１２７。０。０。１`` is the loopback address it resolves to.
    """
    text = unicodedata.normalize("NFKC", host.strip("[]")).translate(_FULL_STOPS).rstrip(".")
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


def _networks(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), reason) for net, reason in pairs)


_REFUSED_V4 = _networks(
    ("0.0.0.0/8", "unspecified"),  # "this network"
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)
"""IPv4 networks no webhook goes to (RFC 6890's special-purpose registry and multicast), first match."""

_REFUSED_V6 = _networks(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "IETF protocol assignment"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
"""IPv6 networks no webhook goes to, first match; outside 2000::/3 (global unicast) all is reserved."""

_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ISATAP_ID = 0x0000_5EFE
"""An ISATAP interface id (RFC 5214): ``0:5efe`` with the universal and group bits free."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries and reaches, with the form's name; None if none.

    IPv4-mapped, IPv4-compatible and IPv4-translated (SIIT) forms, NAT64's well-known
    prefix, 6to4, Teredo (the client's address, stored inverted) and ISATAP interface ids.
    """
    value = int(address)
    low = ipaddress.IPv4Address(value & 0xFFFF_FFFF)
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _IPV4_TRANSLATED:
        return "IPv4-translated", low
    if address in _IPV4_COMPATIBLE and value > 1:
        return "IPv4-compatible", low
    if address in _NAT64:
        return "NAT64", low
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address in _TEREDO:
        return "Teredo", ipaddress.IPv4Address(~value & 0xFFFF_FFFF)
    if (value >> 32) & 0xFCFF_FFFF == _ISATAP_ID:
        return "ISATAP", low
    return None


def _listed(address: IPAddress) -> str | None:
    table = _REFUSED_V4 if address.version == 4 else _REFUSED_V6
    for network, reason in table:
        if address in network:
            return reason
    if address.version == 6 and address not in _GLOBAL_UNICAST:
        return "reserved"
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination (None when it is).

    An IPv6 address that carries an IPv4 address (see :func:`embedded_ipv4`) is judged by
    the IPv4 address it reaches: ``2002:7f00:1::`` is refused as loopback (6to4 of
    127.0.0.1). The tables are the special-purpose registries, written out rather than
    taken from :mod:`ipaddress`, whose ``is_global`` differs between Python releases.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            form, inner = embedded
            reason = _listed(inner)
            if reason is not None:
                return f"{reason} ({form} of {inner})"
            if form == "ISATAP":  # an interface id: the IPv6 address is reached too
                return _listed(address)
            return None  # the IPv6 form is only a way to the public IPv4 address inside
    return _listed(address)


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
                    f"webhooks may not go to {shown}: {reason} address; "
                    "GATEWAY_FORWARD_ALLOWED_TARGETS can allow a network or host")
    return CheckedTarget(url=parts, address=candidates[0])
