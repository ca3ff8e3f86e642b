"""Pack keyed records into ``EventDataBatch`` objects: one partition key per batch, up to the size limit.

Batches for many keys stay open at once, so events of one entity travel together and in order. A
batch leaves when it is full, when the buffered bytes pass a budget (oldest batch first), or at the
end of the input. ``new_batch(partition_key)`` makes an empty batch: ``producer.create_batch`` when
sending, ``EventDataBatch(...)`` with no connection for ``--dry-run`` and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from azure.eventhub import EventData, EventDataBatch

from squall.send.models import KeyedRecord, PackedBatch, Refusal

BatchFactory = Callable[[str], Any]

#: The Event Hubs message (and batch) size limit of the Standard and Premium tiers.
EVENT_HUBS_MAX_BATCH_BYTES = 1024 * 1024
#: Bytes of open batches held in memory before the oldest is sent anyway.
DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024
JSON_CONTENT_TYPE = "application/json"


def offline_batch_factory(max_batch_bytes: int) -> BatchFactory:
    """Real ``EventDataBatch`` objects made without a producer (the SDK encodes sizes locally)."""

    def new_batch(partition_key: str) -> Any:
        return EventDataBatch(max_size_in_bytes=max_batch_bytes, partition_key=partition_key)

    return new_batch


def pack_batches(
    items: Iterable[KeyedRecord | Refusal],
    *,
    new_batch: BatchFactory,
    max_events_per_batch: int | None = None,
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
) -> Iterator[PackedBatch | Refusal]:
    """Full batches (and refusals, passed through in input order) as the input is read."""
    packer = _OpenBatches(new_batch, max_events_per_batch=max_events_per_batch)
    for item in items:
        if isinstance(item, Refusal):
            yield item
            continue
        yield from packer.add(item)
        yield from packer.release_over(max_buffered_bytes)
    yield from packer.release_over(-1)


class _OpenBatches:
    """One open batch per partition key, oldest first, and the bytes they hold."""

    def __init__(self, new_batch: BatchFactory, *, max_events_per_batch: int | None) -> None:
        self._new_batch = new_batch
        self._max_events = max_events_per_batch
        self._by_key: dict[str, PackedBatch] = {}
        self._buffered_bytes = 0

    def add(self, item: KeyedRecord) -> Iterator[PackedBatch | Refusal]:
        current = self._by_key.get(item.partition_key)
        if current is not None:
            before = current.size_in_bytes
            if _fits(current, item, self._max_events):
                self._buffered_bytes += current.size_in_bytes - before
                return
        opened = _open_batch(item, self._new_batch)
        if isinstance(opened, Refusal):  # too big for any batch: the open one stays open
            yield opened
            return
        if current is not None:
            yield self._release(item.partition_key)
        self._by_key[item.partition_key] = opened
        self._buffered_bytes += opened.size_in_bytes

    def release_over(self, max_buffered_bytes: int) -> Iterator[PackedBatch]:
        while self._by_key and self._buffered_bytes > max_buffered_bytes:
            yield self._release(next(iter(self._by_key)))

    def _release(self, partition_key: str) -> PackedBatch:
        packed = self._by_key.pop(partition_key)
        self._buffered_bytes -= packed.size_in_bytes
        return packed


def _fits(current: PackedBatch, item: KeyedRecord, max_events: int | None) -> bool:
    if max_events is not None and current.events >= max_events:
        return False
    return _try_add(current, item)


def _open_batch(item: KeyedRecord, new_batch: BatchFactory) -> PackedBatch | Refusal:
    batch = new_batch(item.partition_key)
    packed = PackedBatch(partition_key=item.partition_key, batch=batch, events=0, size_in_bytes=0)
    if _try_add(packed, item):
        return packed
    reason = (
        f"event of {len(item.body)} bytes does not fit in one batch of {batch.max_size_in_bytes} bytes"
        " (the batch limit, --max-batch-bytes)"
    )
    return Refusal(item.location, reason)


def _try_add(packed: PackedBatch, item: KeyedRecord) -> bool:
    event = EventData(item.body)
    event.content_type = JSON_CONTENT_TYPE
    if item.properties:
        event.properties = {key: value for key, value in item.properties.items()}  # the SDK's dict[str | bytes, Any]
    try:
        packed.batch.add(event)
    except ValueError:
        return False
    packed.events += 1
    packed.size_in_bytes = packed.batch.size_in_bytes
    packed.locations.append(item.location)
    return True
