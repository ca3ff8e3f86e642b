"""Timestamps as producers send them -> timezone-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.errors import RecordRejected
from shared.events.fields import json_type_name

_from_iso_format = datetime.fromisoformat
#: Epoch values at or above this magnitude are milliseconds (1e11 seconds is the year 5138).
_EPOCH_MILLIS_THRESHOLD = 100_000_000_000


def as_utc(moment: datetime) -> datetime:
    """A datetime in UTC; a naive one is taken to be UTC already (O365 sends zone-less UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    if moment.tzinfo is UTC:
        return moment
    return moment.astimezone(UTC)


def parse_iso_timestamp(text: str, *, fmt: str, field: str) -> datetime:
    """ISO 8601 / RFC 3339 text (``Z`` or offset or none, up to 7+ fraction digits) -> UTC datetime."""
    moment = iso_timestamp_or_none(text)
    if moment is None:
        raise RecordRejected(f"{fmt}: field '{field}' is not an ISO 8601 timestamp")
    return moment


def iso_timestamp_or_none(text: str) -> datetime | None:
    """``parse_iso_timestamp`` without the exception: ``None`` for text that is not a timestamp."""
    try:
        moment = _from_iso_format(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return _assume_utc(text, moment)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _assume_utc(text: str, naive: datetime) -> datetime:
    """Zone-less text as UTC. Re-parsing with "+00:00" is ~4x faster than ``replace(tzinfo=UTC)``."""
    try:
        aware = _from_iso_format(text + "+00:00")
    except ValueError:
        return naive.replace(tzinfo=UTC)
    return aware if aware.tzinfo is UTC else naive.replace(tzinfo=UTC)


def epoch_to_utc(value: int | float, *, fmt: str, field: str) -> datetime:
    """Epoch seconds or milliseconds (told apart by magnitude) -> UTC datetime."""
    seconds = value / 1000 if abs(value) >= _EPOCH_MILLIS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordRejected(f"{fmt}: field '{field}' is out of range for an epoch timestamp") from None


def parse_timestamp_value(value: object, *, fmt: str, field: str) -> datetime:
    """A timestamp field that may be ISO text, epoch seconds/millis, or digits in a string."""
    if type(value) is str:
        if value.isascii() and value.isdigit():
            return epoch_to_utc(int(value), fmt=fmt, field=field)
        return parse_iso_timestamp(value, fmt=fmt, field=field)
    if type(value) in (int, float):
        return epoch_to_utc(value, fmt=fmt, field=field)  # type: ignore[arg-type]
    if isinstance(value, datetime):
        return as_utc(value)
    raise RecordRejected(f"{fmt}: field '{field}' must be a timestamp string or number, got {json_type_name(value)}")
