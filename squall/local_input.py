"""The local runtime's event hub: input records cut into partition batches, as the host delivers them.

Each record goes to a stable partition chosen by its entity key (as ``squall send`` keys it), and gets
a sequence number. Two numberings:

- **a file** (``input_id`` set): partitions are named ``<input_id>/<n>`` and a record's sequence
  number is its position in the file (1-based). Running the same file again on the same store is
  then a replay the pipeline recognises (the per-entity watermark skips what was applied, the
  outbox holds what was not delivered) — like the host replaying a partition from its checkpoint.
  ``input_id`` names the file by its first 64 KiB, so a file that only grew (an appended log) keeps
  its identity and its new records are new; another file gets other partitions and never looks
  like a replay of the first.
- **a stream without identity** (stdin, the demo's generator): partitions ``<n>`` and sequence
  numbers that keep growing from one run to the next (microseconds since the epoch at the start),
  so state kept in a store never mistakes a new event for one an earlier run applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from shared.events.cloudevents import binary_mode_attributes
from shared.events.iothub import DEVICE_ID_PROPERTY, iothub_system_properties
from shared.events.models import RawEvent
from squall.send.entity_key import RECORD_FORMATS, EntityKeyMissing, entity_key_of

#: Events per process_batch call, like the Function's maxEventBatchSize in host.json.
BATCH_SIZE = 100
#: Partitions the local runtime spreads events over, like the default hub in infra/.
PARTITIONS = 32
#: How much of a file names it (``input_identity``).
IDENTITY_BYTES = 64 * 1024


def partition_for(key: str | None, partitions: int = PARTITIONS) -> str:
    """Stable partition for a partition key, as a sender using the entity key would get."""
    return str(zlib.crc32((key or "").encode()) % partitions)


def input_identity(path: Path) -> str:
    """A file's identity for replays: a digest of its first 64 KiB."""
    with path.open("rb") as stream:
        return hashlib.sha256(stream.read(IDENTITY_BYTES)).hexdigest()[:12]


def entity_key_for(
    message: bytes | RawEvent, *, source: str = "auto", json_entity_path: str | None = None
) -> str | None:
    """The partition key ``squall send`` would give this record (for a message with properties, an
    envelope: its IoT Hub device or binary-mode CloudEvent's entity); ``None`` when it has none (the
    pipeline then dead-letters the record with the reason)."""
    if isinstance(message, RawEvent):
        if (key := _key_of_properties(message)) is not None:
            return key
        message = message.body
    try:
        record = msgspec.json.decode(message)
    except (msgspec.DecodeError, RecursionError):
        return None
    if isinstance(record, list):
        record = record[0] if record else None
    try:
        chosen = source if source in RECORD_FORMATS else "auto"
        return entity_key_of(record, record_format=chosen, json_entity_path=json_entity_path)
    except EntityKeyMissing:
        return None


def _key_of_properties(message: RawEvent) -> str | None:
    system = iothub_system_properties(message)
    if system is not None:
        device = system.get(DEVICE_ID_PROPERTY)
        return device if isinstance(device, str) and device else None
    attributes = binary_mode_attributes(message)
    if attributes is None:
        return None
    try:
        return entity_key_of(attributes, record_format="cloudevents")
    except EntityKeyMissing:
        return None


def batch_raw_events(
    bodies: Iterable[tuple[bytes | RawEvent, str | None]],
    *,
    batch_size: int = BATCH_SIZE,
    first_sequence: int | None = None,
    input_id: str | None = None,
) -> Iterator[list[RawEvent]]:
    """Cut (body or message, partition key) pairs into hub-like batches: each batch holds one
    partition's events in sequence order, as the Event Hubs trigger delivers them (numbering: module
    doc). A message (an envelope's) keeps its body, properties and enqueued time."""
    first = time.time_ns() // 1_000 if first_sequence is None else first_sequence
    sequence: dict[str, int] = {}
    pending: dict[str, list[RawEvent]] = {}
    for position, (body, key) in enumerate(bodies, start=1):
        partition = partition_for(key)
        if input_id is not None:
            partition = f"{input_id}/{partition}"
            number = position
        else:
            number = sequence[partition] = sequence.get(partition, first - 1) + 1
        batch = pending.setdefault(partition, [])
        if isinstance(body, RawEvent):  # an envelope: its properties and enqueued time are kept
            message = dataclasses.replace(
                body, partition=partition, partition_key=key, sequence_number=number, offset=str(number),
                enqueued_time=body.enqueued_time or datetime.now(UTC),
            )  # fmt: skip
        else:
            message = RawEvent(
                body=body, partition=partition, partition_key=key, sequence_number=number, offset=str(number),
                enqueued_time=datetime.now(UTC),
            )  # fmt: skip
        batch.append(message)
        if len(batch) >= batch_size:
            yield pending.pop(partition)
    yield from pending.values()
