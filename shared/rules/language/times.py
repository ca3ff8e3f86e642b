"""Time as the rules keep it: integer milliseconds since the epoch (UTC) in entity state, ISO 8601 with
``Z`` wherever a time is written out (templates, explanations, stored cool-downs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)  # built once: to_ms runs for every event a stateful rule takes


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact integer arithmetic, no float rounding)."""
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def span_ms(duration: timedelta) -> int:
    return duration // _MS


def ms_value(raw: Any) -> int | None:
    """A stored millisecond stamp, or ``None`` when absent or damaged (damaged state never blocks)."""
    return raw if type(raw) is int else None


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")
