"""Event Hubs Capture files: where they are, what window they hold, and the events inside.

Capture writes one Avro file per partition and capture window, named by the default archive name
format ``{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}`` (the
time the window opened, UTC, zero-padded), each record in the schema below (``CAPTURE_SCHEMA``, as
``avro-tools getschema`` prints it for any capture file; learn.microsoft.com/azure/event-hubs/
event-hubs-capture-overview). ``Body`` holds the producer's bytes unchanged; ``Properties`` the
application properties (``squall-format`` among them); ``EnqueuedTimeUtc`` the hub's enqueued time
as text (.NET's invariant ``M/d/yyyy h:mm:ss AM`` form; ISO 8601 is read too).

Each record becomes the ``RawEvent`` the trigger would have handed in, so the normal normalizer
decodes it (``shared.events``) and nothing here knows a producer format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import fastavro

from shared.events.models import RawEvent

__all__ = [
    "CAPTURE_SCHEMA",
    "MAX_CAPTURE_WINDOW",
    "CaptureFile",
    "CaptureFormatError",
    "TimeWindow",
    "parse_capture_name",
    "parse_enqueued_time",
    "read_capture_records",
]

#: The Avro schema of every Event Hubs Capture record.
CAPTURE_SCHEMA: dict[str, Any] = {
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
#: The longest capture window Event Hubs allows (intervalInSeconds: 60-900): a file named T holds
#: events enqueued from T up to T + this, so a time filter on names keeps files opened this early.
MAX_CAPTURE_WINDOW = timedelta(seconds=900)
#: The partition key, when the producer set one (an AMQP message annotation).
PARTITION_KEY_PROPERTY = "x-opt-partition-key"

_LAYOUT = re.compile(
    r"(?:^|/)(?P<stream>(?:[^/]+/)?[^/]+)/(?P<partition>\d+)/(?P<y>\d{4})/(?P<mo>\d{2})/(?P<d>\d{2})/"
    r"(?P<h>\d{2})/(?P<mi>\d{2})/(?P<s>\d{2})\.avro$"
)
_DOTNET_TIME = re.compile(
    r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}) (?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<f>\d+))?"
    r" (?P<ampm>AM|PM)"
)


class CaptureFormatError(ValueError):
    """A file or record is not what Event Hubs Capture writes; the message names which and why."""


@dataclass(frozen=True, slots=True)
class CaptureFile:
    """One capture file: its name (path or blob name), the stream and partition, the window start."""

    name: str
    stream: str  # "{Namespace}/{EventHub}" (or the folder above the partition)
    partition: str
    opened: datetime

    @property
    def partition_name(self) -> str:
        """The partition as the backfill names it: distinct from the local runtime's own partitions, and
        the same on every backfill of the same capture (so a rerun on a kept store is a replay)."""
        return f"{self.stream}/{self.partition}"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Enqueued times from ``since`` (included) to ``until`` (excluded)."""

    since: datetime
    until: datetime

    def may_hold(self, capture: CaptureFile) -> bool:
        """Whether a file can hold events of the window, from its name alone."""
        return self.since - MAX_CAPTURE_WINDOW <= capture.opened < self.until

    def holds(self, enqueued: datetime) -> bool:
        return self.since <= enqueued < self.until


def parse_capture_name(name: str) -> CaptureFile | None:
    """The capture file a name (``a/b/ns/hub/3/2026/03/01/09/15/00.avro``) stands for, or ``None``
    when it does not end in the Capture layout."""
    found = _LAYOUT.search(name.replace("\\", "/"))
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(found[key]) for key in ("y", "mo", "d", "h", "mi", "s"))
    try:
        opened = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return CaptureFile(name=name, stream=found["stream"], partition=found["partition"], opened=opened)


def parse_enqueued_time(text: str) -> datetime:
    """``EnqueuedTimeUtc`` as Capture writes it (``3/1/2026 9:15:02 AM``) or ISO 8601, in UTC."""
    found = _DOTNET_TIME.fullmatch(text.strip())
    if found is not None:
        hour = int(found["h"]) % 12 + (12 if found["ampm"] == "PM" else 0)
        micros = int((found["f"] or "0")[:6].ljust(6, "0"))
        return datetime(int(found["y"]), int(found["mo"]), int(found["d"]), hour, int(found["mi"]),
                        int(found["s"]), micros, tzinfo=UTC)  # fmt: skip
    iso = re.sub(r"(\.\d{6})\d+", r"\1", text.strip())  # .NET writes 7 fraction digits
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise CaptureFormatError(f"EnqueuedTimeUtc {text!r} is not a time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_capture_records(stream: IO[bytes], capture: CaptureFile, window: TimeWindow) -> Iterator[RawEvent]:
    """The records of one capture file enqueued within ``window``, in the file's (sequence) order."""
    try:
        reader = fastavro.reader(stream)
        for record in reader:
            if not isinstance(record, Mapping):
                raise CaptureFormatError("a record is not an EventData record")
            raw = _raw_event(record, capture)
            if raw.enqueued_time is not None and window.holds(raw.enqueued_time):
                yield raw
    except (ValueError, KeyError, TypeError, EOFError) as exc:
        if isinstance(exc, CaptureFormatError):
            raise CaptureFormatError(f"{capture.name}: {exc}") from None
        raise CaptureFormatError(f"{capture.name}: not an Event Hubs Capture Avro file ({exc})") from None


def _raw_event(record: Mapping[str, Any], capture: CaptureFile) -> RawEvent:
    system = {str(key): _text(value) for key, value in (record.get("SystemProperties") or {}).items()}
    key = system.get(PARTITION_KEY_PROPERTY)
    return RawEvent(
        body=record.get("Body") or b"",
        partition=capture.partition_name,
        partition_key=key if isinstance(key, str) else None,
        sequence_number=int(record["SequenceNumber"]),
        offset=str(record["Offset"]),
        enqueued_time=parse_enqueued_time(str(record["EnqueuedTimeUtc"])),
        properties={str(name): _text(value) for name, value in (record.get("Properties") or {}).items()},
        system_properties=system,
    )


def _text(value: Any) -> Any:
    """Byte values as text when they are UTF-8 (what a string property becomes in Avro's ``bytes``)."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value
    return value
