"""Typed values in conditions: numbers, strings, booleans, datetimes and durations.

Literals are typed once, at compile time: a string that is an ISO 8601 datetime (``2024-05-01``,
``2024-05-01T08:00:00Z``) becomes an aware ``datetime`` (UTC when no offset is given), an ISO 8601
duration (``PT5M``) a ``timedelta``. Event values are converted to the literal's type when the
condition runs, so dates are never compared as strings.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from shared.rules.errors import OperandError, OperandTypeError
from shared.rules.language.durations import looks_like_iso_duration, parse_duration

_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?"
)


class Kind(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    DATETIME = "datetime"
    DURATION = "duration"
    OTHER = "other"  # lists, mappings: only contains/exists make sense


ORDERED_KINDS = frozenset({Kind.NUMBER, Kind.DATETIME, Kind.DURATION})


def parse_datetime(text: str) -> datetime:
    """An aware datetime from ISO 8601 text; no offset means UTC. Raises ``ValueError``."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def kind_of(value: Any) -> Kind:
    """The kind of a value as it is (strings that look like datetimes/durations included)."""
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int | float):
        return Kind.NUMBER
    if isinstance(value, date):
        return Kind.DATETIME
    if isinstance(value, timedelta):
        return Kind.DURATION
    if isinstance(value, str):
        if _ISO_DATETIME.fullmatch(value):
            return Kind.DATETIME
        if looks_like_iso_duration(value):
            return Kind.DURATION
        return Kind.STRING
    return Kind.OTHER


def typed_literal(value: Any) -> tuple[Kind, Any]:
    """``(kind, value converted to that kind)`` for a literal written in a rule."""
    kind = kind_of(value)
    if kind is Kind.OTHER:
        raise OperandError(f"expected a string, number or boolean, got {_json_type(value)}")
    if isinstance(value, float) and value != value:
        raise OperandError("NaN cannot be compared")
    if not isinstance(value, str):
        return kind, convert(value, kind)
    try:
        if kind is Kind.DATETIME:
            return kind, parse_datetime(value)
        return kind, parse_duration(value) if kind is Kind.DURATION else value
    except (ValueError, OverflowError) as exc:
        raise OperandError(f"invalid {kind.value} {value!r}: {exc}") from None


def convert(value: Any, kind: Kind) -> Any:
    """``value`` as ``kind``; raises ``OperandTypeError`` (types only in the message) when it is not one."""
    if kind is Kind.DATETIME:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), UTC)
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                raise OperandTypeError("string is not an ISO 8601 datetime") from None
    elif kind is Kind.DURATION:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError:
                raise OperandTypeError("string is not a duration") from None
    elif kind is Kind.NUMBER:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
    elif kind is Kind.STRING and isinstance(value, str):
        return value
    raise OperandTypeError(f"expected {kind.value}, got {_json_type(value)}")


def convert_pair(left: Any, right: Any) -> tuple[Kind, Any, Any]:
    """Two event values converted to one common kind (for field-vs-field comparisons)."""
    left_kind, right_kind = kind_of(left), kind_of(right)
    if left_kind is not right_kind:
        raise OperandTypeError(f"cannot compare {left_kind.value} with {right_kind.value}")
    if left_kind is Kind.OTHER:
        raise OperandTypeError(f"cannot compare {_json_type(left)} values")
    return left_kind, convert(left, left_kind), convert(right, right_kind)


def _json_type(value: Any) -> str:
    names: dict[type, str] = {dict: "object", list: "array", type(None): "null", str: "string"}
    names[bool] = "boolean"
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
