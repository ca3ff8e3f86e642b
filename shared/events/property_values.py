"""Event Hubs message properties (AMQP values) -> JSON values for ``Event.attributes``."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.events.timestamps import as_utc


def property_key(key: object) -> str:
    """A property name as text (the Python Event Hubs SDK hands some names in as bytes)."""
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return str(key)


def json_value(value: object) -> Any:
    """A property value as JSON: bytes as UTF-8 text (base64 if not text), times as ISO 8601 UTC."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | UUID):
        return str(value)
    if isinstance(value, dict):
        return {property_key(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return str(value)


def json_properties(properties: dict[Any, Any] | None) -> dict[str, Any]:
    """A whole property map with text keys and JSON values."""
    if not properties:
        return {}
    return {property_key(key): json_value(value) for key, value in properties.items()}
