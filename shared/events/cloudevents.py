"""CloudEvents 1.0 -> canonical events: structured JSON (single or batch) and binary mode.

Structured: the record is the JSON event (``data`` or ``data_base64``). Binary mode on Event Hubs:
context attributes travel as message properties (``cloudEvents:``/``cloudEvents_`` per the AMQP
binding, ``ce_`` per Kafka, ``ce-`` per HTTP) and the body is the data; it is turned into the
structured shape and normalized the same way.

entity = ``subject``, else the first of the extensions ``entity``, ``userid``, ``deviceid``,
``partitionkey`` (senders use the entity key as partition key), else ``source``.
tenant = extension ``tenant`` or ``tenantid``. A JSON ``null`` attribute is treated as absent (spec).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import msgspec

from shared.events.canonical import build_event
from shared.events.errors import RecordRejected
from shared.events.fields import json_type_name, required_text
from shared.events.models import Event, RawEvent
from shared.events.property_values import json_value, property_key
from shared.events.provenance import Provenance
from shared.events.timestamps import as_utc, parse_iso_timestamp

FORMAT = "cloudevents"

_CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema"}
)
_NOT_EXTENSIONS = _CONTEXT_ATTRIBUTES | {"data", "data_base64"}
_ENTITY_EXTENSIONS = ("entity", "userid", "deviceid", "partitionkey")
_TENANT_EXTENSIONS = ("tenant", "tenantid")
_BINARY_PREFIXES = ("cloudEvents:", "cloudEvents_", "ce_", "ce-")
_CONTENT_TYPE_PROPERTIES = ("content-type", "content_type", "contentType", "Content-Type")


def normalize_cloudevent(record: dict[str, Any], provenance: Provenance) -> Event:
    """One structured-mode CloudEvent (decoded JSON object) -> Event; ``RecordRejected`` says why not."""
    specversion = required_text(record, "specversion", fmt=FORMAT)
    if specversion != "1.0":
        raise RecordRejected("cloudevents: unsupported specversion (only 1.0 is accepted)")
    event_id = required_text(record, "id", fmt=FORMAT)
    ce_source = required_text(record, "source", fmt=FORMAT)
    event_type = required_text(record, "type", fmt=FORMAT)
    extensions = {k: v for k, v in record.items() if v is not None and k not in _NOT_EXTENSIONS}
    subject = _optional_attribute(record, "subject")
    return build_event(
        FORMAT,
        event_id=event_id,
        event_type=event_type,
        time=_event_time(record, provenance),
        entity=subject or _first_extension(extensions, _ENTITY_EXTENSIONS) or ce_source,
        tenant=_first_extension(extensions, _TENANT_EXTENSIONS),
        attributes=_attributes(record, ce_source, specversion, extensions),
        provenance=provenance,
    )


def binary_mode_attributes(raw: RawEvent) -> dict[str, Any] | None:
    """CloudEvents context attributes carried as message properties, or ``None`` if there are none."""
    attributes: dict[str, Any] = {}
    for key, value in raw.properties.items():
        name = property_key(key)
        for prefix in _BINARY_PREFIXES:
            if name[: len(prefix)].lower() == prefix.lower():
                attribute = name[len(prefix) :].lower()
                keep_timestamp = attribute == "time" and isinstance(value, datetime)
                attributes[attribute] = value if keep_timestamp else json_value(value)
                break
    return attributes if "specversion" in attributes else None


def binary_mode_record(raw: RawEvent, attributes: dict[str, Any]) -> dict[str, Any]:
    """A binary-mode message as the equivalent structured-mode record (body becomes data)."""
    record = dict(attributes)
    content_type = record.get("datacontenttype") or _content_type_property(raw)
    if content_type is not None:
        record["datacontenttype"] = content_type
    if not raw.body:
        return record
    if is_json_content_type(content_type):
        try:
            record["data"] = msgspec.json.decode(raw.body)
        except (msgspec.DecodeError, RecursionError):
            raise RecordRejected("cloudevents: binary-mode body is not valid JSON for its JSON content type") from None
        return record
    try:
        record["data"] = raw.body.decode("utf-8")
    except UnicodeDecodeError:
        record["data_base64"] = base64.b64encode(raw.body).decode("ascii")
    return record


def is_json_content_type(content_type: object) -> bool:
    """``application/json``, ``text/json`` and ``*/*+json`` (parameters ignored)."""
    if type(content_type) is not str:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def _event_time(record: dict[str, Any], provenance: Provenance) -> datetime:
    value = record.get("time")
    if value is None:
        if provenance.enqueued_time is None:
            raise RecordRejected("cloudevents: no 'time' attribute and no enqueued time to fall back on")
        return provenance.enqueued_time
    if isinstance(value, datetime):  # binary mode over AMQP: a real timestamp
        return as_utc(value)
    if type(value) is not str:
        raise RecordRejected(f"cloudevents: field 'time' must be a string, got {json_type_name(value)}")
    return parse_iso_timestamp(value, fmt=FORMAT, field="time")


def _attributes(record: dict[str, Any], ce_source: str, specversion: str, extensions: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"ce_source": ce_source, "specversion": specversion}
    for name in ("datacontenttype", "dataschema", "subject"):
        value = record.get(name)
        if value is not None:
            attributes[name] = value
    attributes.update(extensions)
    if "data" in record or "data_base64" in record:
        attributes["data"] = _data(record)
    return attributes


def _data(record: dict[str, Any]) -> Any:
    data_base64 = record.get("data_base64")
    if "data" in record:
        if data_base64 is not None:
            raise RecordRejected("cloudevents: both 'data' and 'data_base64' are present (spec allows one)")
        return record["data"]
    if data_base64 is None:
        return None
    if type(data_base64) is not str:
        raise RecordRejected(f"cloudevents: field 'data_base64' must be a string, got {json_type_name(data_base64)}")
    try:
        payload = base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise RecordRejected("cloudevents: field 'data_base64' is not valid base64") from None
    return _decoded_payload(payload, data_base64, record.get("datacontenttype"))


def _decoded_payload(payload: bytes, as_base64: str, content_type: object) -> Any:
    """Decoded bytes: JSON when the content type says so, else UTF-8 text, else the base64 text."""
    if is_json_content_type(content_type):
        try:
            return msgspec.json.decode(payload)
        except (msgspec.DecodeError, RecursionError):
            raise RecordRejected(
                "cloudevents: 'data_base64' does not hold valid JSON for its JSON content type"
            ) from None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return as_base64


def _optional_attribute(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if type(value) is not str:
        raise RecordRejected(f"cloudevents: field '{name}' must be a string, got {json_type_name(value)}")
    return None if not value or value.isspace() else value


def _first_extension(extensions: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = extensions.get(name)
        if type(value) is str and value.strip():
            return value
        if type(value) is int:
            return str(value)
    return None


def _content_type_property(raw: RawEvent) -> str | None:
    for properties in (raw.properties, raw.system_properties):
        for key in _CONTENT_TYPE_PROPERTIES:
            value = properties.get(key)
            if value is not None:
                return str(json_value(value))
    return None
