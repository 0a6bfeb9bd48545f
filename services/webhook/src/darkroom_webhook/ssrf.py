"""SSRF protection: which addresses a webhook may be sent to.

A webhook URL is given by a user, so the service must not become a way into the private
network it runs in (OWASP "Server-Side Request Forgery Prevention Cheat Sheet": resolve the
name, check every address, connect to the checked address). :func:`resolve_target` resolves the
URL's host and refuses it when any address is not globally routable (private, loopback,
link-local, multicast, reserved, unspecified, shared or documentation ranges: Python's
``ipaddress`` ``is_global``, plus multicast), unless the host name or the addresses are allowed
by ``DARKROOM_WEBHOOK_ALLOWED_HOSTS``. The request is then made to the checked address itself
(the host name only in ``Host`` and TLS SNI), so a second DNS answer cannot swap it (DNS
rebinding), and redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedTarget(Exception):
    """The URL may not be called: a bad URL, a name that does not resolve, or an address that is
    not public and not allowed. Permanent for a delivery: retrying cannot help."""


@dataclass(frozen=True)
class Allowed:
    """Parsed ``DARKROOM_WEBHOOK_ALLOWED_HOSTS``: host names and networks allowed although not
    public."""

    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, value: str) -> Allowed:
        """Parse a comma-separated list of host names, IP addresses and CIDR networks.

        Raises:
            ValueError: An entry looks like a network but is not a valid one.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                if "/" in item:
                    raise ValueError(
                        f"DARKROOM_WEBHOOK_ALLOWED_HOSTS: bad network {item!r}"
                    ) from None
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether the host name itself is listed."""
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Whether the address is in a listed network."""
        return any(address in net for net in self.networks if net.version == address.version)


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is globally routable unicast (not private, loopback, link-local,
    multicast, reserved, unspecified...). IPv4-mapped IPv6 addresses are judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Target:
    """A checked webhook target.

    Attributes:
        url: The URL to request: the original with its host replaced by the checked address.
        host: The original host name (TLS SNI and certificate check).
        host_header: The ``Host`` header: the original host and port.
        address: The address connected to.
    """

    url: str
    host: str
    host_header: str
    address: IPAddress


async def resolve_target(url: str, allowed: Allowed) -> Target:
    """Check ``url`` and pick the address to connect to.

    Args:
        url: ``http(s)://host[:port]/path?query``.
        allowed: The allowed non-public hosts and networks.

    Returns:
        The target: the first resolved address, all of which passed.

    Raises:
        RefusedTarget: Not http(s), no host, user info in the URL, the name does not resolve, or
            an address is not public and not allowed (the message names the address).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("webhook URL must be http(s)://host/...")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("webhook URL must not carry credentials")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise RefusedTarget(f"webhook host {host!r} does not resolve: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise RefusedTarget(f"webhook host {host!r} does not resolve")
    host_allowed = allowed.allows_host(host)
    for address in addresses:
        if not (host_allowed or is_public(address) or allowed.allows_address(address)):
            raise RefusedTarget(
                f"webhook target {host!r} resolves to {address}, which is not a public address "
                "(allow it with DARKROOM_WEBHOOK_ALLOWED_HOSTS)"
            )
    address = addresses[0]
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    return Target(
        url=parts._replace(netloc=netloc).geturl(),
        host=host,
        host_header=parts.netloc,
        address=address,
    )
