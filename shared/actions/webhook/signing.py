"""Webhook signatures: HMAC-SHA256 over ``f"{t}.{body}"``, sent as ``X-Squall-Signature: t=<unix>,v1=<hex>``.

``t`` is the Unix time (seconds) when the request was signed — every attempt is signed anew —
and ``body`` the exact bytes of the request body. Receivers recompute the HMAC with the shared
secret, compare in constant time, and refuse timestamps outside their tolerance (replays).
``verify_signature`` below uses only the standard library: receivers may copy it as is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Squall-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_S = 300


def signature_header(secret: str, body: bytes, *, timestamp: int) -> str:
    """The ``X-Squall-Signature`` value for ``body`` signed at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None
) -> bool:
    """True when ``header`` is a valid ``X-Squall-Signature`` of ``body`` made within ``tolerance_s``.

    Accepts several ``v1=`` values (a sender rotating secrets may sign with both).
    """
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
