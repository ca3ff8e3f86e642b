"""The entity key of a record, used as its Event Hubs partition key.

The rules mirror the normalizers' ``entity`` mapping (DESIGN §3), so the key a sender chooses is the
entity the function later computes: all events of one entity land in one partition, and one function
instance owns that entity's state.
"""

from __future__ import annotations

import json
from typing import Any, Literal

RecordFormat = Literal["auto", "o365", "cloudevents", "eventgrid", "json"]
RECORD_FORMATS: tuple[str, ...] = ("auto", "o365", "cloudevents", "eventgrid", "json")

_IOT_TELEMETRY = "Microsoft.Devices.DeviceTelemetry"
_IOT_DEVICE_ID = "iothub-connection-device-id"
_CLOUDEVENTS_ENTITY_EXTENSIONS = ("entity", "userid")


class EntityKeyMissing(ValueError):
    """The record has no usable entity key; the message says which field was looked at."""


def detect_format(record: dict[str, Any]) -> str:
    """Recognize a record by its signature keys, as the normalizers do."""
    if "specversion" in record:
        return "cloudevents"
    if "eventType" in record and ("dataVersion" in record or "metadataVersion" in record):
        return "eventgrid"
    if "Workload" in record and "Operation" in record and "CreationTime" in record:
        return "o365"
    return "json"


def entity_path_from_field_map(field_map_json: str | None) -> str | None:
    """The ``entity`` path of a JSON field map (``SQUALL_JSON_FIELD_MAP``); ValueError if malformed."""
    if not field_map_json:
        return None
    try:
        field_map = json.loads(field_map_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"JSON field map is not valid JSON: {exc.msg} at char {exc.pos}") from None
    if not isinstance(field_map, dict):
        raise ValueError("JSON field map must be a JSON object mapping canonical fields to paths")
    path = field_map.get("entity")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        raise ValueError("JSON field map: 'entity' must be a non-empty dotted path")
    return path


def entity_key_of(record: Any, *, record_format: str = "auto", json_entity_path: str | None = None) -> str:
    """The entity key of one decoded record, or EntityKeyMissing with the reason."""
    if not isinstance(record, dict):
        raise EntityKeyMissing(f"expected a JSON object, got {type(record).__name__}")
    chosen = detect_format(record) if record_format == "auto" else record_format
    if chosen == "o365":
        return _text_at(record, "UserId", label="o365: UserId")
    if chosen == "cloudevents":
        return _cloudevents_key(record)
    if chosen == "eventgrid":
        return _eventgrid_key(record)
    if json_entity_path is None:
        raise EntityKeyMissing(
            'json: no entity path; pass --json-field-map \'{"entity": "user.id"}\' or set SQUALL_JSON_FIELD_MAP'
        )
    return _text_at(record, json_entity_path, label=f"json: {json_entity_path}")


def _cloudevents_key(record: dict[str, Any]) -> str:
    for name in ("subject", *_CLOUDEVENTS_ENTITY_EXTENSIONS, "source"):
        value = _as_key(record.get(name))
        if value is not None:
            return value
    raise EntityKeyMissing("cloudevents: no subject, entity, userid or source")


def _eventgrid_key(record: dict[str, Any]) -> str:
    if record.get("eventType") == _IOT_TELEMETRY:
        data = record.get("data")
        system_properties = data.get("systemProperties") if isinstance(data, dict) else None
        if isinstance(system_properties, dict):
            device = _as_key(system_properties.get(_IOT_DEVICE_ID))
            if device is not None:
                return device
    for name in ("subject", "topic"):
        value = _as_key(record.get(name))
        if value is not None:
            return value
    raise EntityKeyMissing("eventgrid: subject and topic are both empty")


def _text_at(record: dict[str, Any], path: str, *, label: str) -> str:
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise EntityKeyMissing(f"{label} is missing")
    key = _as_key(value)
    if key is None:
        raise EntityKeyMissing(f"{label} is empty or not a string")
    return key


def _as_key(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None
