"""Plain JSON objects -> canonical events, through a configured field map (SQUALL_JSON_FIELD_MAP).

The map names a dotted source path for each canonical field, e.g.
``{"id": "eventId", "type": "name", "time": "ts", "entity": "user.id", "tenant": "org"}``.
``time`` may be ISO 8601 text or epoch seconds/milliseconds. ``attributes`` is the record without the
top-level fields the map consumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events.canonical import build_event
from shared.events.errors import RecordRejected
from shared.events.fields import identifier_text
from shared.events.models import Event
from shared.events.provenance import Provenance
from shared.events.timestamps import parse_timestamp_value

FORMAT = "json"
NO_FIELD_MAP_REASON = (
    "json: no field map configured; set SQUALL_JSON_FIELD_MAP to map id, type, time and entity to source fields"
)
_MISSING = object()


def normalize_json_record(
    record: dict[str, Any], provenance: Provenance, *, paths: Mapping[str, tuple[str, ...]]
) -> Event:
    """One plain JSON object -> Event using the compiled field map; ``RecordRejected`` says why not."""
    if not paths:
        raise RecordRejected(NO_FIELD_MAP_REASON)
    return build_event(
        FORMAT,
        event_id=identifier_text(_required(record, paths, "id"), fmt=FORMAT, what=_what(paths, "id")),
        event_type=_text(_required(record, paths, "type"), paths, "type"),
        time=parse_timestamp_value(_required(record, paths, "time"), fmt=FORMAT, field=".".join(paths["time"])),
        entity=identifier_text(_required(record, paths, "entity"), fmt=FORMAT, what=_what(paths, "entity")),
        tenant=_tenant(record, paths),
        attributes=_attributes(record, paths),
        provenance=provenance,
    )


def _required(record: dict[str, Any], paths: Mapping[str, tuple[str, ...]], name: str) -> Any:
    value = _lookup(record, paths[name])
    if value is _MISSING or value is None:
        raise RecordRejected(f"json: missing required field '{'.'.join(paths[name])}' (mapped to {name})")
    return value


def _tenant(record: dict[str, Any], paths: Mapping[str, tuple[str, ...]]) -> str | None:
    value = _lookup(record, paths["tenant"]) if "tenant" in paths else None
    if value is _MISSING or value is None or value == "":
        return None
    return identifier_text(value, fmt=FORMAT, what=_what(paths, "tenant"))


def _lookup(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _text(value: object, paths: Mapping[str, tuple[str, ...]], name: str) -> str:
    if type(value) is str and value.strip():
        return value
    raise RecordRejected(f"json: {_what(paths, name)} must be a non-empty string")


def _what(paths: Mapping[str, tuple[str, ...]], name: str) -> str:
    return f"field '{'.'.join(paths[name])}' (mapped to {name})"


def _attributes(record: dict[str, Any], paths: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    consumed = {path[0] for path in paths.values() if len(path) == 1}
    return {key: value for key, value in record.items() if key not in consumed}
