"""O365 ``ClientIP`` values -> a valid IPv4/IPv6 address string, or ``None``.

Producers send ``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]:443``, ``::1``, ``""`` and malformed
values such as ``ffff:10.11.0.229``. Valid addresses come back as sent, without port or brackets.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from socket import AF_INET, AF_INET6, inet_pton


def parse_client_ip(value: object) -> str | None:
    """The address in ``value`` when it is a valid IP (port stripped); else ``None``."""
    if type(value) is not str or not value:
        return None
    return _address_without_port(value)


@lru_cache(maxsize=65_536)
def _address_without_port(text: str) -> str | None:
    candidate = text.strip()
    if candidate.startswith("["):
        candidate = _unbracket(candidate)
    elif candidate.count(":") == 1:
        host, _, port = candidate.partition(":")
        candidate = host if port.isascii() and port.isdigit() else ""
    if not candidate:
        return None
    return candidate if is_ip_address(candidate) else None


def is_ip_address(text: str) -> bool:
    """Whether ``ipaddress.ip_address(text)`` accepts ``text``, answered by the C ``inet_pton`` for the
    usual forms (~10x faster); what it refuses (a scoped ``fe80::1%eth0``, say) ``ipaddress`` decides."""
    try:
        inet_pton(AF_INET6 if ":" in text else AF_INET, text)
        return True
    except (OSError, ValueError):  # ValueError: an embedded NUL
        pass
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _unbracket(text: str) -> str:
    """``[v6]`` or ``[v6]:port`` -> ``v6``; anything else -> ``""``."""
    end = text.find("]")
    if end == -1:
        return ""
    rest = text[end + 1 :]
    if rest and not (rest[0] == ":" and rest[1:].isascii() and rest[1:].isdigit()):
        return ""
    return text[1:end]
