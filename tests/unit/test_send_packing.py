"""Packing keyed records into real EventDataBatch objects, without a network."""

from __future__ import annotations

import json
from typing import Any

from azure.eventhub import EventDataBatch

from squall.send.models import KeyedRecord, PackedBatch, Refusal
from squall.send.packing import offline_batch_factory, pack_batches


def _record(number: int, key: str, *, padding: int = 0) -> KeyedRecord:
    body = json.dumps({"UserId": key, "n": number, "pad": "x" * padding}).encode()
    return KeyedRecord(location=f"line {number}", body=body, partition_key=key)


class RecordingFactory:
    """The real offline factory, remembering which partition key each new batch was made for."""

    def __init__(self, max_batch_bytes: int) -> None:
        self.keys: list[str] = []
        self._make = offline_batch_factory(max_batch_bytes)

    def __call__(self, partition_key: str) -> Any:
        self.keys.append(partition_key)
        return self._make(partition_key)


def _batches(items: list[PackedBatch | Refusal]) -> list[PackedBatch]:
    return [item for item in items if isinstance(item, PackedBatch)]


def test_records_of_one_entity_share_a_batch_in_input_order() -> None:
    # GIVEN interleaved records of two users  WHEN packed with room to spare
    records = [_record(1, "ann"), _record(2, "bob"), _record(3, "ann"), _record(4, "bob"), _record(5, "ann")]
    packed = list(pack_batches(records, new_batch=offline_batch_factory(1024 * 1024)))
    # THEN one batch per user, holding that user's lines in order
    assert [(p.partition_key, p.locations) for p in _batches(packed)] == [
        ("ann", ["line 1", "line 3", "line 5"]),
        ("bob", ["line 2", "line 4"]),
    ]


def test_batches_are_real_event_data_batches_for_their_key() -> None:
    # GIVEN two users' records  WHEN packed through a recording factory
    factory = RecordingFactory(1024 * 1024)
    packed = _batches(list(pack_batches([_record(1, "ann"), _record(2, "bob")], new_batch=factory)))
    # THEN each batch is an SDK batch made for its partition key, sized by the SDK
    assert factory.keys == ["ann", "bob"]
    assert all(isinstance(p.batch, EventDataBatch) for p in packed)
    assert [(len(p.batch), p.size_in_bytes) for p in packed] == [(1, p.batch.size_in_bytes) for p in packed]


def test_a_full_batch_is_closed_and_the_next_one_opened() -> None:
    # GIVEN 10 records of ~500 bytes for one user and a 2000-byte batch limit
    records = [_record(n, "ann", padding=450) for n in range(1, 11)]
    packed = _batches(list(pack_batches(records, new_batch=offline_batch_factory(2000))))
    # THEN several batches, none over the limit, together holding every record once, in order
    assert len(packed) > 1
    assert all(p.size_in_bytes <= 2000 for p in packed)
    assert [location for p in packed for location in p.locations] == [f"line {n}" for n in range(1, 11)]
    assert sum(p.events for p in packed) == 10


def test_a_record_larger_than_a_batch_is_refused_with_its_line() -> None:
    # GIVEN a 5000-byte record between two small ones and a 2000-byte limit  WHEN packed
    records = [_record(1, "ann"), _record(2, "ann", padding=5000), _record(3, "ann")]
    packed = list(pack_batches(records, new_batch=offline_batch_factory(2000)))
    # THEN line 2 is refused naming the limit, the others still travel together
    refusals = [item for item in packed if isinstance(item, Refusal)]
    assert [r.location for r in refusals] == ["line 2"]
    assert "does not fit in one batch of 2000 bytes" in refusals[0].reason
    assert [p.locations for p in _batches(packed)] == [["line 1", "line 3"]]


def test_max_events_per_batch_caps_each_batch() -> None:
    # GIVEN 7 records of one user  WHEN packed with at most 3 events per batch
    records = [_record(n, "ann") for n in range(1, 8)]
    packed = _batches(
        list(pack_batches(records, new_batch=offline_batch_factory(1024 * 1024), max_events_per_batch=3))
    )
    # THEN batches of 3, 3 and 1
    assert [p.events for p in packed] == [3, 3, 1]


def test_buffered_bytes_budget_releases_the_oldest_batch_first() -> None:
    # GIVEN three users and a buffer budget smaller than two open batches  WHEN packed
    records = [_record(1, "ann", padding=300), _record(2, "bob", padding=300), _record(3, "cy", padding=300)]
    packed = list(pack_batches(records, new_batch=offline_batch_factory(1024 * 1024), max_buffered_bytes=500))
    # THEN batches leave as soon as the budget is passed, oldest first, none lost
    assert [p.partition_key for p in _batches(packed)] == ["ann", "bob", "cy"]


def test_refusals_pass_through_in_input_order() -> None:
    # GIVEN a refusal from reading between two records  WHEN packed
    items = [_record(1, "ann"), Refusal("line 2", "invalid JSON"), _record(3, "bob")]
    packed = list(pack_batches(items, new_batch=offline_batch_factory(1024 * 1024)))
    # THEN the refusal comes out first (batches wait until full or the end), then both batches
    assert packed[0] == Refusal("line 2", "invalid JSON")
    assert [p.partition_key for p in _batches(packed)] == ["ann", "bob"]
