"""`squall send` end to end: records -> entity keys -> packed batches -> (rate) -> producer, with a report.

Sending and planning (``--dry-run``) take the same path; a dry run just has no ``send_batch``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from squall.send.entity_key import EntityKeyMissing, entity_key_of
from squall.send.errors import SendFailed
from squall.send.models import KeyedRecord, PackedBatch, Refusal, SendReport
from squall.send.packing import DEFAULT_MAX_BUFFERED_BYTES, BatchFactory, pack_batches
from squall.send.rate import TokenBucket
from squall.send.sender import SDK_ERRORS, describe_sdk_error
from squall.send.source import SourceItem

SendBatch = Callable[[Any], None]
RefusalCallback = Callable[[Refusal], None]


def key_records(
    items: Iterable[SourceItem], *, record_format: str = "auto", json_entity_path: str | None = None
) -> Iterator[KeyedRecord | Refusal]:
    """Each record with its entity key as partition key; a record without one becomes a refusal."""
    for item in items:
        if isinstance(item, Refusal):
            yield item
            continue
        try:
            key = entity_key_of(item.record, record_format=record_format, json_entity_path=json_entity_path)
        except EntityKeyMissing as exc:
            yield Refusal(item.location, f"no entity key ({exc})")
            continue
        yield KeyedRecord(location=item.location, body=item.body, partition_key=key, properties=item.properties)


def run_send(
    items: Iterable[SourceItem],
    *,
    new_batch: BatchFactory,
    send_batch: SendBatch | None,
    record_format: str = "auto",
    json_entity_path: str | None = None,
    bucket: TokenBucket | None = None,
    max_events_per_batch: int | None = None,
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
    on_refusal: RefusalCallback | None = None,
    on_batch: Callable[[PackedBatch], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Read, key, pack and send (or only plan, when ``send_batch`` is None) every record."""
    report = SendReport(dry_run=send_batch is None)
    started = clock()
    keys: set[str] = set()
    keyed = key_records(_counted(items, report), record_format=record_format, json_entity_path=json_entity_path)
    packed = pack_batches(
        keyed,
        new_batch=new_batch,
        max_events_per_batch=max_events_per_batch,
        max_buffered_bytes=max_buffered_bytes,
    )
    try:
        for item in packed:
            if isinstance(item, Refusal):
                _record_refusal(report, item, on_refusal)
                continue
            if bucket is not None:
                bucket.acquire(item.events)
            _deliver(item, report, send_batch)
            keys.add(item.partition_key)
            report.partition_keys = len(keys)
            if on_batch is not None:
                on_batch(item)
    except SDK_ERRORS as exc:
        raise SendFailed(describe_sdk_error(exc), events_sent=report.events_sent) from None
    finally:
        report.elapsed_s = clock() - started
    return report


def _counted(items: Iterable[SourceItem], report: SendReport) -> Iterator[SourceItem]:
    for item in items:
        report.events_read += 1
        yield item


def _record_refusal(report: SendReport, refusal: Refusal, on_refusal: RefusalCallback | None) -> None:
    report.events_refused += 1
    report.refusals.append(str(refusal))
    if on_refusal is not None:
        on_refusal(refusal)


def _deliver(packed: PackedBatch, report: SendReport, send_batch: SendBatch | None) -> None:
    if send_batch is None:
        report.plan.append(packed.describe())
    else:
        send_batch(packed.batch)
        report.events_sent += packed.events
    report.batches += 1
    report.bytes += packed.size_in_bytes
