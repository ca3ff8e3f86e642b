"""Reading input files: JSONL lines (a byte order mark is no record), and the envelope that carries a
message's properties — what ``squall run``, ``normalize``, ``rules test`` and ``send`` read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.events import NormalizeOptions, RawEvent
from shared.events.errors import RecordRejected
from shared.events.inputs import jsonl_lines, message_of_line, normalize_line, read_envelope, read_event_body

BOM = b"\xef\xbb\xbf"


def test_jsonl_lines_drop_a_byte_order_mark_opening_the_input_and_skip_blank_lines() -> None:
    lines = [BOM + b'{"a": 1}\r\n', b"\n", b'  {"b": 2}  \n']
    assert list(jsonl_lines(lines)) == [(1, b'{"a": 1}'), (3, b'{"b": 2}')]


def test_a_byte_order_mark_inside_the_input_is_left_for_the_normalizer_to_reject() -> None:
    assert list(jsonl_lines([b"{}\n", BOM + b"{}\n"])) == [(1, b"{}"), (2, BOM + b"{}")]


def test_read_event_body_reads_a_file_that_opens_with_a_byte_order_mark() -> None:
    result = read_event_body(BOM + b'{"id": "e1", "source": "json", "type": "t", "time": "2024-05-01T08:00:00Z", '
                             b'"entity": "u1"}')  # fmt: skip
    assert [event.id for event in result.events] == ["e1"]


def test_an_envelope_is_one_message_with_its_body_properties_and_provenance() -> None:
    line = (
        b'{"body": {"temperature": 25.5}, "properties": {"alert": "no"}, '
        b'"system_properties": {"iothub-connection-device-id": "dev-1"}, "partition": 3, "sequence_number": 7, '
        b'"enqueued_time": "2024-05-01T08:00:00Z"}'
    )
    assert read_envelope(line) == RawEvent(
        body=b'{"temperature":25.5}',
        partition="3",
        sequence_number=7,
        enqueued_time=datetime(2024, 5, 1, 8, tzinfo=UTC),
        properties={"alert": "no"},
        system_properties={"iothub-connection-device-id": "dev-1"},
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b'"{ \\"temperature\\": 25.5 }"', b'{ "temperature": 25.5 }'), (b'"plain text"', b"plain text"),
     (b"null", b""), (b"[1, 2]", b"[1,2]")],
)  # fmt: skip
def test_an_envelope_body_string_is_the_text_and_any_other_value_is_json(body: bytes, expected: bytes) -> None:
    envelope = read_envelope(b'{"body": ' + body + b', "properties": {}}')
    assert envelope is not None and envelope.body == expected


@pytest.mark.parametrize(
    "line",
    [b'{"body": 1, "headers": {}}', b'{"body": 1}', b'{"properties": {}}',
     b'{"body": 1, "properties": {}, "user": "u1"}', b'[{"body": 1, "properties": {}}]'],
)  # fmt: skip
def test_a_record_that_only_looks_like_an_envelope_is_a_body(line: bytes) -> None:
    assert read_envelope(line) is None
    assert message_of_line(line) == RawEvent(body=line)


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b'{"body": 1, "properties": []}', "envelope: 'properties' must be a JSON object, got array"),
     (b'{"body": 1, "system_properties": {}, "sequence_number": "7"}',
      "envelope: 'sequence_number' must be an integer, got string"),
     (b'{"body": 1, "properties": {}, "enqueued_time": "yesterday"}',
      "envelope: 'enqueued_time' must be an ISO 8601 timestamp")],
)  # fmt: skip
def test_a_malformed_envelope_is_rejected_with_the_reason(line: bytes, reason: str) -> None:
    with pytest.raises(RecordRejected, match=reason):
        read_envelope(line)
    rejections = normalize_line(line).rejections
    assert [(rejection.reason, rejection.payload) for rejection in rejections] == [(reason, line)]


def test_plain_json_input_is_never_unwrapped() -> None:
    line = b'{"body": {"id": "x"}, "properties": {"k": "v"}}'
    assert message_of_line(line, NormalizeOptions(source="json")) == RawEvent(body=line)
