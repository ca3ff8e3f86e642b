"""Azure Event Grid schema events -> canonical events.

id=id, type=eventType, time=eventTime, entity=subject (an empty subject falls back to topic),
tenant from ``data.tenantId``/``data.tenant`` when present. IoT Hub device events
(``Microsoft.Devices.*``) are about a device: entity = the device id from ``data``.
Subscription validation handshakes are not usage and are rejected.
"""

from __future__ import annotations

from typing import Any

from shared.events.canonical import build_event
from shared.events.errors import RecordRejected
from shared.events.fields import optional_text, required_text
from shared.events.models import Event
from shared.events.provenance import Provenance
from shared.events.timestamps import parse_iso_timestamp

FORMAT = "eventgrid"
VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
_ATTRIBUTE_KEYS = ("topic", "subject", "dataVersion", "metadataVersion", "data")


def normalize_eventgrid_event(record: dict[str, Any], provenance: Provenance) -> Event:
    """One Event Grid event (decoded JSON object) -> Event; ``RecordRejected`` says why not."""
    event_id = required_text(record, "id", fmt=FORMAT)
    event_type = required_text(record, "eventType", fmt=FORMAT)
    if event_type == VALIDATION_EVENT_TYPE:
        raise RecordRejected("eventgrid: subscription validation event is not usage")
    time = parse_iso_timestamp(required_text(record, "eventTime", fmt=FORMAT), fmt=FORMAT, field="eventTime")
    data = record.get("data")
    return build_event(
        FORMAT,
        event_id=event_id,
        event_type=event_type,
        time=time,
        entity=_entity(record, event_type, data),
        tenant=_tenant(data),
        attributes={key: record[key] for key in _ATTRIBUTE_KEYS if key in record},
        provenance=provenance,
    )


def _entity(record: dict[str, Any], event_type: str, data: object) -> str:
    if event_type.startswith("Microsoft.Devices.") and isinstance(data, dict):
        device_id = _device_id(data)
        if device_id:
            return device_id
    subject = optional_text(record, "subject", fmt=FORMAT)
    if subject and not subject.isspace():
        return subject
    topic = optional_text(record, "topic", fmt=FORMAT)
    if topic and not topic.isspace():
        return topic
    raise RecordRejected("eventgrid: no entity: 'subject' and 'topic' are both missing or empty")


def _device_id(data: dict[str, Any]) -> str | None:
    """Telemetry carries the device in systemProperties; lifecycle events carry ``deviceId``."""
    system_properties = data.get("systemProperties")
    if isinstance(system_properties, dict):
        device_id = system_properties.get("iothub-connection-device-id")
        if type(device_id) is str and device_id.strip():
            return device_id
    device_id = data.get("deviceId")
    return device_id if type(device_id) is str and device_id.strip() else None


def _tenant(data: object) -> str | None:
    if not isinstance(data, dict):
        return None
    for key in ("tenantId", "tenant"):
        value = data.get(key)
        if type(value) is str and value.strip():
            return value
    return None
