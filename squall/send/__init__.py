"""`squall send`: feed an Event Hub from JSONL or the synthetic generator, keyed by entity.

Public API: ``run_send`` (the whole flow), ``pack_batches`` and ``offline_batch_factory`` (packing
without a network), ``entity_key_of``, ``TokenBucket``, ``open_producer``, and the report/errors.
"""

from __future__ import annotations

from squall.send.entity_key import EntityKeyMissing, entity_key_of
from squall.send.errors import SendConfigError, SendFailed
from squall.send.models import KeyedRecord, OutgoingRecord, PackedBatch, Refusal, SendReport
from squall.send.packing import EVENT_HUBS_MAX_BATCH_BYTES, offline_batch_factory, pack_batches
from squall.send.rate import TokenBucket
from squall.send.runner import key_records, run_send
from squall.send.sender import HubTarget, open_producer, producer_batch_factory
from squall.send.source import read_jsonl, synthetic_records

__all__ = [
    "EVENT_HUBS_MAX_BATCH_BYTES",
    "EntityKeyMissing",
    "HubTarget",
    "KeyedRecord",
    "OutgoingRecord",
    "PackedBatch",
    "Refusal",
    "SendConfigError",
    "SendFailed",
    "SendReport",
    "TokenBucket",
    "entity_key_of",
    "key_records",
    "offline_batch_factory",
    "open_producer",
    "pack_batches",
    "producer_batch_factory",
    "read_jsonl",
    "run_send",
    "synthetic_records",
]
