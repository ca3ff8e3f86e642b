"""Where a webhook may point: public addresses only, unless the destination says ``allow_private``.

The host is resolved and every address it resolves to is checked (``ipaddress``): private,
loopback, link-local (incl. cloud metadata 169.254.169.254), multicast, reserved and unspecified
addresses are refused, IPv4-mapped IPv6 included. Redirects are never followed, so an answer
cannot bounce a request inward. Limitation: the check runs before each batch; a DNS answer that
changes between the check and the connection (rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Awaitable[list[str]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL points at an address webhooks may not reach; the message says which and why."""


class TargetUnresolvable(Exception):
    """The host name did not resolve (maybe for now)."""


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetUnresolvable(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


async def check_target(url: str, *, allow_private: bool, resolver: Resolver = resolve_host) -> None:
    """Raise ``TargetRefused`` unless every address of ``url``'s host is public (or allowed)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise TargetRefused(f"webhook URL has no host: {url}")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await resolver(host, port):
        problem = address_problem(address)
        if problem is not None:
            raise TargetRefused(
                f"{host} resolves to {address}, a {problem} address; webhooks may only reach public "
                "addresses unless the destination sets allow_private"
            )


def address_problem(address: str) -> str | None:
    """``"private"``, ``"loopback"``... for an address webhooks may not reach; None when public."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),  # e.g. carrier-grade NAT 100.64.0.0/10
    )
    return next((name for name, hit in checks if hit), None)
