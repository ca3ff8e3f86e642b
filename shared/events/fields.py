"""Typed reads of decoded JSON records, with rejection reasons that name the format and field."""

from __future__ import annotations

from typing import Any

from shared.events.errors import RecordRejected

_JSON_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
    type(None): "null",
}


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type ("object", "array", "string", ...)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def required_text(record: dict[str, Any], key: str, *, fmt: str) -> str:
    """``record[key]`` as a non-blank string, or a rejection naming what is wrong with it."""
    value = record.get(key)
    if type(value) is str and value and not value.isspace():
        return value
    raise RecordRejected(_text_problem(value, key in record, key, fmt=fmt))


def optional_text(record: dict[str, Any], key: str, *, fmt: str) -> str | None:
    """``record[key]`` as a non-blank string; ``None`` when absent, null or empty."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    raise RecordRejected(f"{fmt}: field '{key}' must be a string, got {json_type_name(value)}")


def identifier_text(value: object, *, fmt: str, what: str) -> str:
    """An id-like value (string or integer, as plain-JSON producers send) as non-blank text."""
    if type(value) is str and value and not value.isspace():
        return value
    if type(value) is int:
        return str(value)
    if type(value) is str:
        raise RecordRejected(f"{fmt}: {what} is empty")
    raise RecordRejected(f"{fmt}: {what} must be a string or integer, got {json_type_name(value)}")


def _text_problem(value: object, present: bool, key: str, *, fmt: str) -> str:
    if not present:
        return f"{fmt}: missing required field '{key}'"
    if type(value) is str:
        return f"{fmt}: field '{key}' is empty"
    return f"{fmt}: field '{key}' must be a string, got {json_type_name(value)}"
