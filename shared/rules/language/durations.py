"""Durations as rules write them: ISO 8601 (``P30D``, ``PT5M``) or short forms (``30d``, ``12h``)."""

from __future__ import annotations

import re
from datetime import timedelta

_ISO_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)
_CALENDAR_UNITS = re.compile(r"P(?:\d+Y|\d+M|.*\dY|[^T]*\dM)", re.IGNORECASE)
_SHORT_DURATION = re.compile(r"(?P<amount>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h|d|w)")
_SHORT_UNITS = {
    "ms": "milliseconds",
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
}


def looks_like_iso_duration(text: str) -> bool:
    """True when ``text`` is a complete ISO 8601 duration with at least one component."""
    match = _ISO_DURATION.fullmatch(text)
    return match is not None and any(match.groupdict().values()) and not text.upper().endswith("T")


def parse_duration(text: str) -> timedelta:
    """``P30D``, ``PT5M``, ``P1DT12H``, ``P2W`` or ``30d``/``12h``/``15m``/``90s``/``500ms``/``2w``.

    Years and months are refused: they have no fixed length. Raises ``ValueError`` with the reason.
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string like 'P30D' or '12h', not {type(text).__name__}")
    stripped = text.strip()
    if looks_like_iso_duration(stripped):
        parts = _ISO_DURATION.fullmatch(stripped).groupdict()  # type: ignore[union-attr]
        return _build(text, {unit: float(amount) for unit, amount in parts.items() if amount})
    if _CALENDAR_UNITS.match(stripped):
        raise ValueError(f"invalid duration {text!r}: years and months have no fixed length; use days (P30D)")
    short = _SHORT_DURATION.fullmatch(stripped)
    if short:
        return _build(text, {_SHORT_UNITS[short["unit"]]: float(short["amount"])})
    raise ValueError(
        f"invalid duration {text!r}: expected ISO 8601 (P30D, PT5M, P1DT12H) or a short form (30d, 12h, 15m, 90s)"
    )


def _build(text: str, parts: dict[str, float]) -> timedelta:
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too long") from None


def parse_positive_duration(text: str) -> timedelta:
    duration = parse_duration(text)
    if duration <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """ISO 8601, as rules write it: ``P30D``, ``PT12H``, ``P1DT2H30M``, ``PT0.5S``."""
    days, rest = duration.days, duration - timedelta(days=duration.days)
    hours, rest_s = divmod(rest.total_seconds(), 3600)
    minutes, seconds = divmod(rest_s, 60)
    time_part = "".join(
        f"{_number(amount)}{unit}" for amount, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if amount
    )
    text = "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")
    return text if text != "P" else "PT0S"


def _number(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else f"{amount:g}"
