"""Time as the rules keep it: integer milliseconds since the epoch (UTC) in entity state, ISO 8601 with
``Z`` wherever a time is written out (templates, explanations, stored cool-downs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact integer arithmetic, no float rounding)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def span_ms(duration: timedelta) -> int:
    return duration // timedelta(milliseconds=1)


def ms_value(raw: Any) -> int | None:
    """A stored millisecond stamp, or ``None`` when absent or damaged (damaged state never blocks)."""
    return raw if type(raw) is int else None


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
