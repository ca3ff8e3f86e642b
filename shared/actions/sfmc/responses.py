"""Reading Marketing Cloud's answers: error envelopes and rate-limit hints.

REST errors look like ``{"message", "errorcode", "documentation"}`` (errorcode 10006 adds
``additionalErrors``: a list of the same envelope); the token endpoint answers
OAuth-style ``{"error", "error_description", "error_uri"}``. A 429 may carry ``Retry-After``
(seconds) — or not (errorcode 50200), in which case the caller backs off on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

#: Longest API message kept in a failure reason.
MAX_MESSAGE_CHARS = 300


def error_summary(response: httpx.Response) -> str:
    """``HTTP 400 errorcode 10000: <message>`` — status plus the API's own words, never the request."""
    prefix = f"HTTP {response.status_code}"
    envelope = _json_object(response)
    if envelope is None:
        return f"{prefix} {response.reason_phrase}".rstrip()
    if "error" in envelope:  # OAuth token endpoint
        detail = f"{envelope['error']}: {envelope.get('error_description', '')}".rstrip(": ")
    else:
        code = envelope.get("errorcode")
        message = envelope.get("message") or response.reason_phrase
        detail = f"errorcode {code}: {message}" if code is not None else str(message)
        detail += _additional_errors(envelope)
    return f"{prefix} {detail[:MAX_MESSAGE_CHARS]}"


def _additional_errors(envelope: dict[str, Any]) -> str:
    """errorcode 10006 (aggregate error) lists its causes in ``additionalErrors``."""
    extra = envelope.get("additionalErrors")
    if not isinstance(extra, list):
        return ""
    messages = [str(item.get("message")) for item in extra if isinstance(item, dict) and item.get("message")]
    return "".join(f"; {message}" for message in messages)


def response_id(response: httpx.Response) -> str | None:
    """The ``eventInstanceId`` of an accepted journey entry event, if the body has one."""
    envelope = _json_object(response)
    value = envelope.get("eventInstanceId") if envelope else None
    return str(value) if value is not None else None


def retry_after_seconds(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """The server's ``Retry-After`` hint in seconds (delta-seconds or HTTP-date), else None."""
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
