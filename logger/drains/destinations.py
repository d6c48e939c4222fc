"""Where drains may send: the destination policy (no drain into the platform).

A drain URL is given by an app's developer, and the logger connects from
inside the platform: without a policy a drain is a way to reach loopback,
the cloud metadata service (169.254.169.254) or the cluster's private
services, and its `last_error` a port scanner. So by default a drain may
only reach public unicast addresses:

- denied addresses: loopback, link-local, private (RFC 1918, fc00::/7,
  100.64.0.0/10 and every range Python's `ipaddress` does not call global),
  multicast, unspecified, reserved; an IPv6 address that embeds an IPv4
  one (IPv4-mapped `::ffff:a.b.c.d`, 6to4, NAT64 `64:ff9b::/96`) is judged
  by the IPv4 address it carries;
- denied names: the platform's own services by name
  (`WF_DRAINS_DENY_HOSTS`, by default `*.cluster.local`, `*.svc` and the
  metadata service's names), whatever they resolve to;
- the operator's allow-list (`WF_DRAINS_ALLOW_DESTINATIONS`: CIDRs and host
  names) wins over both.

The policy is checked when a drain is added (a 400 from the drains API; a
name that does not resolve then is accepted, and checked when used) and
again at every connection, after DNS resolution: the sinks connect to the
very addresses that were checked (`resolve`), never to a second resolution
of the name, so a name that resolves to a public address once and to
127.0.0.1 the next time (DNS rebinding) gets nowhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from foundation.settings import Kind
from logger.drains.errors import DeniedDestination
from logger.errors import SettingsError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# The platform's own names: Kubernetes services, the cloud metadata service.
DEFAULT_DENY_HOSTS = (
    "*.cluster.local",
    "*.svc",
    "metadata.google.internal",
    "metadata.goog",
)
ALLOW_VARIABLE = "WF_DRAINS_ALLOW_DESTINATIONS"
# An address tuple as getaddrinfo gives it: (family, (host, port, ...)).
Address = tuple[int, str, int]


@dataclass(frozen=True)
class HostList:
    """Networks and host names (`logs.internal`, or `*.corp.example` for a domain)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str, variable: str, *, networks: bool = True) -> HostList:
        nets: list[IPNetwork] = []
        hosts: set[str] = set()
        suffixes: list[str] = []
        for item in (piece.strip().lower() for piece in text.split(",")):
            if not item:
                continue
            if item.startswith("*."):
                suffixes.append(item[1:])
                continue
            try:
                network = ipaddress.ip_network(item, strict=False)
            except ValueError:
                if not _is_host_name(item):
                    raise SettingsError(
                        f"{variable} must list CIDRs or host names, {item[:60]!r} is neither"
                    ) from None
                hosts.add(item.rstrip("."))
                continue
            if not networks:
                raise SettingsError(f"{variable} lists host names only, got {item!r}")
            nets.append(network)
        return cls(tuple(nets), frozenset(hosts), tuple(suffixes), text)

    def has_host(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or any(name.endswith(suffix) for suffix in self.suffixes)

    def has_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def __str__(self) -> str:
        return self.text


class HostListKind(Kind[HostList]):
    """A comma-separated list of CIDRs and host names (`*.domain` for a domain)."""

    type_name = "list"

    def __init__(self, networks: bool = True) -> None:
        self._networks = networks

    def parse(self, raw: str, variable: str) -> HostList:
        return HostList.parse(raw, variable, networks=self._networks)

    def bounds(self) -> str:
        return "CIDRs and host names" if self._networks else "host names, *.domain"

    def show(self, value: HostList) -> str:
        return value.text


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_problem(address: IPAddress) -> str | None:
    """Why the default policy denies an address (`loopback`, ...), None if public."""
    judged = embedded_ipv4(address)
    for problem, denied in (
        ("unspecified", judged.is_unspecified),
        ("loopback", judged.is_loopback),
        ("link-local", judged.is_link_local),
        ("multicast", judged.is_multicast),
        ("private", judged.is_private),
        ("reserved", judged.is_reserved or not judged.is_global),
    ):
        if denied:
            return problem
    return None


class DestinationPolicy:
    """Which hosts and addresses drains may reach; see the module docstring."""

    def __init__(
        self,
        allow: HostList | None = None,
        deny_hosts: HostList | None = None,
        *,
        resolve_timeout: float = 5.0,
    ) -> None:
        self._allow = allow or HostList()
        self._deny = deny_hosts or HostList.parse(",".join(DEFAULT_DENY_HOSTS), "", networks=False)
        self._resolve_timeout = resolve_timeout

    def host_problem(self, host: str) -> str | None:
        """Why the host itself is denied (an address literal or a denied name)."""
        if self._allow.has_host(host):
            return None
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            if self._deny.has_host(host):
                return "is one of the platform's own services"
            return None
        problem = self._address_problem(literal)
        return None if problem is None else f"is a {problem} address"

    def allows(self, host: str, address: str) -> bool:
        """Whether a drain to `host` may connect to `address` (one it resolves to)."""
        if self._allow.has_host(host):
            return True
        try:
            parsed = ipaddress.ip_address(address.partition("%")[0])
        except ValueError:
            return False
        return self._address_problem(parsed) is None

    def _address_problem(self, address: IPAddress) -> str | None:
        if self._allow.has_address(address) or self._allow.has_address(embedded_ipv4(address)):
            return None
        return address_problem(address)

    def check_host(self, host: str) -> None:
        """DeniedDestination when the host itself is denied (no DNS)."""
        problem = self.host_problem(host)
        if problem is not None:
            raise DeniedDestination(_denied(host, problem))

    async def check(self, host: str, port: int) -> None:
        """The add-time check: the host, then what it resolves to now. A name
        that does not resolve is let through (it is checked at each connection)."""
        self.check_host(host)
        try:
            async with asyncio.timeout(self._resolve_timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, TimeoutError):
            return
        self._allowed(host, _addresses(infos))

    async def resolve(self, host: str, port: int, kind: socket.SocketKind) -> list[Address]:
        """The addresses a connection may use, in resolver order; raises
        DeniedDestination when the policy allows none of them, and OSError
        (socket.gaierror) when the name does not resolve."""
        self.check_host(host)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
        return self._allowed(host, _addresses(infos))

    def _allowed(self, host: str, addresses: Iterable[Address]) -> list[Address]:
        found = list(addresses)
        allowed = [item for item in found if self.allows(host, item[1])]
        if found and not allowed:
            problem = self._address_problem(ipaddress.ip_address(found[0][1].partition("%")[0]))
            raise DeniedDestination(_denied(host, f"resolves to a {problem} address"))
        return allowed


def _denied(host: str, problem: str) -> str:
    return (
        f"drain destination {host[:80]} {problem}; drains may only reach public "
        f"addresses unless the operator allows it ({ALLOW_VARIABLE})"
    )


def _addresses(infos: Iterable[tuple[Any, ...]]) -> list[Address]:
    seen: list[Address] = []
    for family, _type, _proto, _name, sockaddr in infos:
        item = (int(family), str(sockaddr[0]), int(sockaddr[1]))
        if item not in seen:
            seen.append(item)
    return seen


def _is_host_name(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and all(char.isalnum() or char in "-_" for char in label)
        for label in labels
    )
