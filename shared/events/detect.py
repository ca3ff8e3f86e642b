"""Which format a decoded record is in, by cheap signature-key lookups (never by trying parsers)."""

from __future__ import annotations

from typing import Any

#: Returned when no signature matches; the caller decides (field map or rejection).
UNKNOWN = "unknown"


def detect_record_format(record: dict[str, Any]) -> str:
    """ "cloudevents", "eventgrid", "o365", or ``UNKNOWN`` for a decoded JSON object.

    Signatures: ``specversion`` -> CloudEvents; ``eventType`` with ``dataVersion`` or
    ``metadataVersion`` -> Event Grid; ``Workload`` + ``Operation`` + ``CreationTime`` -> O365.
    (IoT Hub is recognized earlier, from the message's system properties, not from the body.)
    """
    if "Workload" in record and "Operation" in record and "CreationTime" in record:
        return "o365"
    if "specversion" in record:
        return "cloudevents"
    if "eventType" in record and ("dataVersion" in record or "metadataVersion" in record):
        return "eventgrid"
    return UNKNOWN
