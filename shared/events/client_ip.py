"""O365 ``ClientIP`` values -> a valid IPv4/IPv6 address string, or ``None``.

Producers send ``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]:443``, ``::1``, ``""`` and malformed
values such as ``ffff:10.11.0.229``. Valid addresses come back as sent, without port or brackets.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


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
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return None
    return candidate


def _unbracket(text: str) -> str:
    """``[v6]`` or ``[v6]:port`` -> ``v6``; anything else -> ``""``."""
    end = text.find("]")
    if end == -1:
        return ""
    rest = text[end + 1 :]
    if rest and not (rest[0] == ":" and rest[1:].isascii() and rest[1:].isdigit()):
        return ""
    return text[1:end]
