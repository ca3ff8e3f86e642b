"""Reading JSONL for `squall send`: exact bytes, line numbers, arrays split, bad lines refused."""

from __future__ import annotations

import io
import json

import pytest

from shared.events.models import MAX_EVENT_BYTES
from squall.send.models import OutgoingRecord, Refusal
from squall.send.source import read_jsonl, synthetic_records


def _read(text: bytes) -> list[OutgoingRecord | Refusal]:
    return list(read_jsonl(io.BytesIO(text)))


def test_lines_are_sent_byte_for_byte_with_their_line_numbers() -> None:
    # GIVEN JSONL with odd spacing, key order and a blank line  WHEN read
    jsonl = b'{"b": 1,  "a": 2}\n\n{"UserId":"u"}\r\n'
    items = _read(jsonl)
    # THEN each body is the line as written (minus line ending) and numbers count blank lines
    assert items == [
        OutgoingRecord("line 1", b'{"b": 1,  "a": 2}', {"b": 1, "a": 2}),
        OutgoingRecord("line 3", b'{"UserId":"u"}', {"UserId": "u"}),
    ]


def test_invalid_json_is_refused_with_its_line_number() -> None:
    # GIVEN a broken second line  WHEN read  THEN only line 2 is refused, and says why
    items = _read(b'{"a": 1}\n{"a": \n{"a": 3}\n')
    assert [item.location for item in items] == ["line 1", "line 2", "line 3"]
    assert isinstance(items[1], Refusal)
    assert items[1].reason.startswith("invalid JSON")


def test_a_scalar_line_is_refused() -> None:
    # GIVEN a line holding a number  WHEN read  THEN it is refused as not an object
    (item,) = _read(b"42\n")
    assert item == Refusal("line 1", "expected a JSON object or array, got int")


def test_an_array_line_becomes_one_record_per_element() -> None:
    # GIVEN an Event Grid style array on line 1 with a stray string  WHEN read
    items = _read(json.dumps([{"subject": "a"}, "oops", {"subject": "b"}]).encode() + b"\n")
    # THEN objects are records located by index, the string is refused
    assert [item.location for item in items] == ["line 1[0]", "line 1[1]", "line 1[2]"]
    assert isinstance(items[0], OutgoingRecord) and json.loads(items[0].body) == {"subject": "a"}
    assert items[1] == Refusal("line 1[1]", "expected a JSON object, got str")


def test_a_line_over_the_event_hubs_limit_is_refused_before_parsing() -> None:
    # GIVEN a second line one byte over 1 MiB (not even JSON)  WHEN read
    items = _read(b'{"a": 1}\n' + b"x" * (MAX_EVENT_BYTES + 1) + b"\n")
    # THEN it is refused for its size, with the line number and both numbers
    assert items[1] == Refusal(
        "line 2",
        f"event is {MAX_EVENT_BYTES + 1} bytes, over the Event Hubs limit of {MAX_EVENT_BYTES} bytes",
    )


def test_synthetic_records_are_compact_json_and_deterministic() -> None:
    pytest.importorskip("squall.synthetic", reason="the generator is written by another helper")
    # GIVEN the same seed twice  WHEN three records are generated
    first = list(synthetic_records(3, seed=7))
    second = list(synthetic_records(3, seed=7))
    # THEN they are identical, numbered, and each body decodes to its record
    assert first == second
    assert [item.location for item in first] == ["record 1", "record 2", "record 3"]
    assert all(isinstance(item, OutgoingRecord) and json.loads(item.body) == item.record for item in first)
