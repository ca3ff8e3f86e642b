"""Event Hubs Capture files as Capture writes them, for the backfill tests.

The schema is Microsoft's, copied from the Capture overview ("Use Avro Tools": ``getschema`` of any
capture file), not imported from ``squall.backfill``: a reader that drifted from it must fail here.
Names follow the default archive name format
``{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}``, and
``EnqueuedTimeUtc`` is written the way Capture writes it (.NET invariant: ``3/1/2026 9:15:02 AM``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import fastavro

# Written out from Microsoft's Capture schema, not imported from squall.backfill.capture: the files these
# tests write must not agree with the reader merely because both took the same constant.
EVENT_DATA_SCHEMA = fastavro.parse_schema(
    {
        "type": "record",
        "name": "EventData",
        "namespace": "Microsoft.ServiceBus.Messaging",
        "fields": [
            {"name": "SequenceNumber", "type": "long"},
            {"name": "Offset", "type": "string"},
            {"name": "EnqueuedTimeUtc", "type": "string"},
            {"name": "SystemProperties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
            {"name": "Properties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
            {"name": "Body", "type": ["null", "bytes"]},
        ],
    }
)
NAMESPACE = "evhns-squall"
HUB = "usage-events"


@dataclass(frozen=True)
class Captured:
    """One captured message: the producer's body and what the hub stamped on it."""

    body: bytes
    enqueued: datetime
    sequence_number: int
    properties: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None


def dotnet_time(moment: datetime) -> str:
    """``EnqueuedTimeUtc`` as Capture writes it: ``M/d/yyyy h:mm:ss AM`` (UTC)."""
    hour = moment.hour % 12 or 12
    half = "PM" if moment.hour >= 12 else "AM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d}:{moment.second:02d} {half}"


def capture_name(partition: int, opened: datetime, *, namespace: str = NAMESPACE, hub: str = HUB) -> str:
    return f"{namespace}/{hub}/{partition}/{opened:%Y/%m/%d/%H/%M/%S}.avro"


def capture_bytes(messages: Sequence[Captured]) -> bytes:
    """One Capture Avro file (deflate, as Capture writes) holding ``messages`` in order."""
    records = [
        {
            "SequenceNumber": message.sequence_number,
            "Offset": str(message.sequence_number * 1024),
            "EnqueuedTimeUtc": dotnet_time(message.enqueued),
            "SystemProperties": {} if message.partition_key is None else {"x-opt-partition-key": message.partition_key},
            "Properties": message.properties,
            "Body": message.body,
        }
        for message in messages
    ]
    buffer = io.BytesIO()
    fastavro.writer(buffer, EVENT_DATA_SCHEMA, records, codec="deflate")
    return buffer.getvalue()


def write_capture(root: Path, partition: int, opened: datetime, messages: Sequence[Captured]) -> Path:
    path = root / capture_name(partition, opened)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(capture_bytes(messages))
    return path
