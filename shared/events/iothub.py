"""IoT Hub device-to-cloud messages read from the built-in Event Hubs-compatible endpoint.

Recognized by the ``iothub-connection-device-id`` system property. The body is one message (a JSON
array body, such as a digital-twin patch, is still one record).

- id: the ``message-id`` system property when the device set one. Otherwise
  ``"{partition}:{sequence_number}"``: IoT Hub does not require a message id, and the position on the
  endpoint is unique within the hub and identical on every redelivery, so de-duplication still holds.
- type: ``"iothub/" + iothub-message-source`` ("iothub/Telemetry", "iothub/twinChangeEvents", ...).
- time: ``iothub-enqueuedtime`` when it is a real timestamp (datetime, ISO 8601 text, epoch millis);
  culture-formatted text such as "05/10/2020 14:30:58" is ambiguous, so the enqueued time is used.
- entity: the device id; tenant: ``iothub-hub-name`` when present.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import msgspec

from shared.events.canonical import build_event
from shared.events.cloudevents import is_json_content_type
from shared.events.errors import RecordRejected
from shared.events.models import Event, RawEvent
from shared.events.property_values import json_properties, json_value, property_key
from shared.events.provenance import Provenance
from shared.events.timestamps import as_utc, epoch_to_utc

FORMAT = "iothub"
DEVICE_ID_PROPERTY = "iothub-connection-device-id"
_DEVICE_ID_PROPERTY_BYTES = DEVICE_ID_PROPERTY.encode()
_OPTIONAL_ATTRIBUTES = {
    "iothub-connection-module-id": "module_id",
    "dt-subject": "component",
    "dt-dataschema": "dataschema",
}


def iothub_system_properties(raw: RawEvent) -> dict[str, Any] | None:
    """The message's system properties with text keys when it came from IoT Hub, else ``None``."""
    system_properties = raw.system_properties
    if not system_properties:
        return None
    if DEVICE_ID_PROPERTY in system_properties or _DEVICE_ID_PROPERTY_BYTES in system_properties:
        return {property_key(key): value for key, value in system_properties.items()}
    return None


def normalize_iothub_message(raw: RawEvent, system: dict[str, Any], provenance: Provenance) -> Event:
    """One IoT Hub message -> Event; ``RecordRejected`` says why not."""
    device_id = _text(system.get(DEVICE_ID_PROPERTY))
    if device_id is None:
        raise RecordRejected(f"iothub: system property '{DEVICE_ID_PROPERTY}' is empty")
    message_source = _text(system.get("iothub-message-source")) or "Telemetry"
    return build_event(
        FORMAT,
        event_id=_message_id(system, provenance),
        event_type=f"iothub/{message_source}",
        time=_message_time(system.get("iothub-enqueuedtime"), provenance),
        entity=device_id,
        tenant=_text(system.get("iothub-hub-name")),
        attributes=_attributes(raw, system, message_source),
        provenance=provenance,
    )


def _message_id(system: dict[str, Any], provenance: Provenance) -> str:
    message_id = _text(system.get("message-id"))
    if message_id is not None:
        return message_id
    if provenance.partition is None or provenance.sequence_number is None:
        raise RecordRejected("iothub: no 'message-id' and no partition/sequence number to derive an id from")
    return f"{provenance.partition}:{provenance.sequence_number}"


def _message_time(value: object, provenance: Provenance) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    if type(value) is int:
        try:
            return epoch_to_utc(value, fmt=FORMAT, field="iothub-enqueuedtime")
        except RecordRejected:
            pass
    if type(value) is str:
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    if provenance.enqueued_time is None:
        raise RecordRejected("iothub: no usable 'iothub-enqueuedtime' and no enqueued time to fall back on")
    return provenance.enqueued_time


def _attributes(raw: RawEvent, system: dict[str, Any], message_source: str) -> dict[str, Any]:
    content_type = _text(system.get("content-type")) or _text(system.get("contentType"))
    attributes: dict[str, Any] = {
        "message_source": message_source,
        "properties": json_properties(raw.properties),
    }
    for property_name, attribute in _OPTIONAL_ATTRIBUTES.items():
        value = _text(system.get(property_name))
        if value is not None:
            attributes[attribute] = value
    if content_type is not None:
        attributes["content_type"] = content_type
    attributes.update(_body_attribute(raw.body, content_type))
    return attributes


def _body_attribute(body: bytes, content_type: str | None) -> dict[str, Any]:
    """``{"body": JSON value or text}``, or ``{"body_base64": ...}`` for bytes that are not UTF-8."""
    if not body:
        return {"body": None}
    if content_type is None or is_json_content_type(content_type):
        try:
            return {"body": msgspec.json.decode(body)}
        except (msgspec.DecodeError, RecursionError):
            pass
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode("ascii")}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = json_value(value)
    if not isinstance(text, str):
        text = str(text)
    return text if text.strip() else None
