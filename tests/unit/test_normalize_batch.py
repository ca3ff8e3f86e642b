"""``normalize_batch``: a whole trigger batch in one call, the same events and reasons as message by message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from shared.events import (
    BatchNormalized,
    NormalizeOptions,
    RawEvent,
    RejectedRecord,
    normalize_batch,
    normalize_raw_event,
)
from squall.synthetic import generate_o365_bytes
from tests.fixtures import jsonl_lines

ENQUEUED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
O365_LINE = jsonl_lines("o365_microsoft_docs.jsonl")[0]


def message(body: Any, number: int, **fields: Any) -> RawEvent:
    values: dict[str, Any] = {"partition": "3", "sequence_number": number, "enqueued_time": ENQUEUED, **fields}
    return RawEvent(body=body, **values)


def mixed_batch() -> list[RawEvent]:
    """Every path: inline O365, array bodies, other formats, bad JSON, text bodies, naive times, properties."""
    grid = {"id": "g", "eventType": "A.B", "eventTime": "2024-01-01T00:00:00Z", "dataVersion": "1", "subject": "s"}
    o365 = msgspec.json.decode(O365_LINE)
    bodies: list[tuple[Any, dict[str, Any]]] = [
        (O365_LINE, {}),
        (b'{"Id": 1,, }', {}),
        (msgspec.json.encode([o365, {"not": "a record"}, o365]), {}),
        (msgspec.json.encode([grid]), {}),
        (O365_LINE.decode(), {}),  # text body
        (O365_LINE, {"enqueued_time": datetime(2024, 5, 1, 12, 0)}),  # naive time: layered path
        (O365_LINE, {"partition": 7}),  # a number for a partition: converted on the layered path
        (O365_LINE, {"properties": {"squall-format": "o365"}}),
        (b"[]", {}),
        (msgspec.json.encode({**o365, "UserId": "  "}), {}),  # blank entity: rejected with a reason
        (msgspec.json.encode({**o365, "CreationTime": "not a time"}), {}),
        *((body, {}) for body in generate_o365_bytes(30, seed=4)),
    ]
    return [message(body, number, **fields) for number, (body, fields) in enumerate(bodies)]


def one_by_one(raws: list[RawEvent], options: NormalizeOptions) -> BatchNormalized:
    expected = BatchNormalized()
    for position, raw in enumerate(raws):
        result = normalize_raw_event(raw, options)
        expected.events += result.events
        expected.rejections += [RejectedRecord(position, rejection) for rejection in result.rejections]
    return expected


@pytest.mark.parametrize("source", ["auto", "o365"])
def test_a_batch_gives_the_events_and_rejections_of_its_messages_in_order(source: str) -> None:
    # GIVEN a batch mixing every kind of message
    raws = mixed_batch()
    options = NormalizeOptions(source=source)  # type: ignore[arg-type]
    # WHEN it is normalized in one call
    batch = normalize_batch(raws, options)
    # THEN it equals normalizing message by message, each rejection naming its message
    expected = one_by_one(raws, options)
    assert batch.events == expected.events
    assert batch.rejections == expected.rejections
    assert batch.records == len(batch.events) + len(batch.rejections)
    assert {rejected.message for rejected in batch.rejections} >= {1, 2, 9, 10}
    assert [event.sequence_number for event in batch.events] == sorted(e.sequence_number for e in batch.events)


def test_every_message_is_an_event_or_a_rejection_naming_it() -> None:
    # GIVEN a batch in which every other message is not JSON
    raws = [message(O365_LINE if number % 2 else b"{", number) for number in range(10)]
    # WHEN normalized  THEN five events, five rejections, each at its own message's position
    batch = normalize_batch(raws)
    assert len(batch.events) == 5
    assert [(r.message, r.rejection.reason) for r in batch.rejections] == [
        (number, "invalid JSON: input ends before the value is complete") for number in range(0, 10, 2)
    ]


class ExplodingEvent(RawEvent):
    """A message whose body cannot even be read: a bug upstream, not bad data."""

    def __getattribute__(self, name: str) -> Any:
        if name == "body":
            raise RuntimeError("boom")
        return super().__getattribute__(name)


def test_an_unexpected_failure_costs_its_message_only() -> None:
    # GIVEN a batch whose middle message raises when read
    raws = [message(O365_LINE, 0), ExplodingEvent(body=b"", partition="3", sequence_number=1), message(O365_LINE, 2)]
    # WHEN normalized  THEN the others become events and the broken one a rejection naming the error type
    batch = normalize_batch(raws)
    assert [event.sequence_number for event in batch.events] == [0, 2]
    assert [(r.message, r.rejection.reason) for r in batch.rejections] == [
        (1, "internal error while normalizing: RuntimeError")
    ]


def test_an_empty_batch_is_empty() -> None:
    assert normalize_batch([]) == BatchNormalized([], [])


def test_provenance_of_each_message_is_on_its_events() -> None:
    raws = [message(body, 100 + n, enqueued_time=ENQUEUED + timedelta(seconds=n)) for n, body in
            enumerate(generate_o365_bytes(5, seed=1))]  # fmt: skip
    events = normalize_batch(raws).events
    assert [(e.partition, e.sequence_number, e.enqueued_time) for e in events] == [
        ("3", 100 + n, ENQUEUED + timedelta(seconds=n)) for n in range(5)
    ]
