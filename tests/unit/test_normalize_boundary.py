"""normalize_raw_event at its boundary: bad bodies become precise rejections, never exceptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shared.events.layered as normalize_module
from shared.events import (
    MAX_EVENT_BYTES,
    UNKNOWN_FORMAT_REASON,
    Event,
    NormalizeOptions,
    RawEvent,
    normalize_raw_event,
)
from tests.fixtures import jsonl_lines

ENQUEUED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
O365_LINE = jsonl_lines("o365_microsoft_docs.jsonl")[0]
O365 = msgspec.json.decode(O365_LINE)


def reasons(body: bytes, **options: Any) -> list[str]:
    raw = RawEvent(body=body, partition="0", sequence_number=1, enqueued_time=ENQUEUED)
    result = normalize_raw_event(raw, NormalizeOptions(**options))
    assert result.events == []
    return [rejection.reason for rejection in result.rejections]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"Id": 1,, }', "invalid JSON: object keys must be strings at byte 9"),
        (b'{"a":1} x', "invalid JSON: trailing characters at byte 9"),
        (b'{"a": 1, x}', "invalid JSON: object keys must be strings at byte 9"),
        (b'[{"a": 1}', "invalid JSON: input ends before the value is complete"),
        (b"", "invalid JSON: empty body"),
        (b"  \n", "invalid JSON: empty body"),
        (b"\xff\xfe", "invalid JSON: invalid character at byte 0"),
        (b"[" * 200_000, "invalid JSON: nested too deeply"),  # past the decoder's depth limit on any Python
    ],
)
def test_unparseable_body_is_one_rejection_with_position(body: bytes, reason: str) -> None:
    assert reasons(body) == [reason]


def test_body_over_the_size_limit_is_rejected_before_parsing() -> None:
    body = b'"' + b"x" * MAX_EVENT_BYTES + b'"'
    assert reasons(body) == [f"body is {len(body)} bytes, over the 1048576-byte limit"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": "x"}', UNKNOWN_FORMAT_REASON),
        (b"42", "expected a JSON object, got number"),
        (b'"text"', "expected a JSON object, got string"),
        (b"null", "expected a JSON object, got null"),
        (b"[[1]]", "expected a JSON object, got array"),
    ],
)
def test_record_that_is_no_known_format_is_rejected(body: bytes, reason: str) -> None:
    assert reasons(body) == [reason]


def test_plain_json_forced_without_field_map_names_the_setting() -> None:
    (reason,) = reasons(b'{"name": "x"}', source="json")
    assert "SQUALL_JSON_FIELD_MAP" in reason


@pytest.mark.parametrize("source", ["o365", "eventgrid", "cloudevents"])
def test_forced_format_that_does_not_match_the_record_is_rejected(source: str) -> None:
    (reason,) = reasons(b'{"name": "x"}', source=source)
    assert reason.startswith(f"{source}: missing required field")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Id": None}, "o365: field 'Id' must be a string, got null"),
        ({"Id": ""}, "o365: field 'Id' is empty"),
        ({"Id": "   "}, "o365: field 'Id' is empty"),
        ({"UserId": 5}, "o365: field 'UserId' must be a string, got number"),
        ({"CreationTime": "29/06/2015 20:03"}, "o365: field 'CreationTime' is not an ISO 8601 timestamp"),
        ({"CreationTime": 1435608199}, "o365: field 'CreationTime' must be a string, got number"),
        ({"OrganizationId": {"x": 1}}, "o365: field 'OrganizationId' must be a string, got object"),
        ({"Workload": True}, "o365: field 'Workload' must be a string, got boolean"),
    ],
)
def test_o365_record_with_wrong_field_is_rejected_with_precise_reason(
    change: dict[str, Any], reason: str
) -> None:
    assert reasons(msgspec.json.encode({**O365, **change}), source="o365") == [reason]


def test_o365_record_missing_id_is_rejected_and_keeps_original_bytes() -> None:
    body = msgspec.json.encode({key: value for key, value in O365.items() if key != "Id"})
    result = normalize_raw_event(RawEvent(body=body), NormalizeOptions(source="o365"))
    (rejection,) = result.rejections
    assert (rejection.reason, rejection.index, rejection.payload) == (
        "o365: missing required field 'Id'",
        None,
        body,
    )


def test_array_with_good_and_bad_items_keeps_going_and_counts_every_record() -> None:
    # GIVEN an array: good record, bad record, non-object, good record
    bad = {**O365, "Id": ""}
    body = msgspec.json.encode([O365, bad, 7, {**O365, "Id": "second"}])
    # WHEN normalized
    result = normalize_raw_event(RawEvent(body=body), NormalizeOptions())
    # THEN two events and two rejections, each with its index and own bytes
    assert [event.id for event in result.events] == [O365["Id"], "second"]
    assert [(r.index, r.reason) for r in result.rejections] == [
        (1, "o365: field 'Id' is empty"),
        (2, "expected a JSON object, got number"),
    ]
    assert msgspec.json.decode(result.rejections[0].payload) == bad
    assert result.rejections[1].payload == b"7"


def test_unexpected_internal_error_becomes_a_rejection_not_an_exception() -> None:
    # GIVEN a RawEvent whose provenance cannot be read (sequence number is not a number)
    raw = RawEvent(body=O365_LINE, sequence_number="not-a-number")  # type: ignore[arg-type]
    # WHEN normalized  THEN it is a rejection naming the error type, no traceback
    result = normalize_raw_event(raw)
    assert [r.reason for r in result.rejections] == ["internal error while normalizing: ValueError"]


def test_invalid_options_fail_at_configuration_time() -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        NormalizeOptions(source="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must name time, entity"):
        NormalizeOptions(json_field_map={"id": "a", "type": "b"})


def test_naive_enqueued_time_is_taken_as_utc() -> None:
    raw = RawEvent(body=O365_LINE, enqueued_time=datetime(2024, 1, 1, 8, 0))
    (event,) = normalize_raw_event(raw).events
    assert event.enqueued_time == datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def record_count(body: bytes) -> int:
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return 1
    return len(decoded) if type(decoded) is list else 1


def assert_counts_and_valid_events(body: bytes, options: NormalizeOptions) -> None:
    result = normalize_raw_event(RawEvent(body=body, partition="0", sequence_number=1), options)
    assert len(result.events) + len(result.rejections) == record_count(body)
    for event in result.events:
        assert Event.model_validate(event.model_dump()) == event
    for rejection in result.rejections:
        assert rejection.reason and "Traceback" not in rejection.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
SIGNATURE_KEYS = [
    "Id",
    "Workload",
    "Operation",
    "CreationTime",
    "UserId",
    "OrganizationId",
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "data_base64",
    "eventType",
    "eventTime",
    "dataVersion",
    "eventId",
    "ts",
    "user",
]
record_like = st.dictionaries(
    st.sampled_from(SIGNATURE_KEYS), json_values | st.just("2024-01-01T00:00:00"), max_size=10
)
FIELD_MAP = NormalizeOptions(
    json_field_map={"id": "eventId", "type": "type", "time": "ts", "entity": "user.id"}
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_and_every_record_is_accounted_for(body: bytes) -> None:
    assert_counts_and_valid_events(body, NormalizeOptions())


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(json_values, record_like, st.lists(record_like, max_size=5)), st.sampled_from(["auto", "json"])
)
def test_random_json_never_raises_and_every_record_is_accounted_for(value: Any, mode: str) -> None:
    options = FIELD_MAP if mode == "json" else NormalizeOptions()
    assert_counts_and_valid_events(msgspec.json.encode(value), options)


property_values = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.binary(max_size=12)
PROPERTY_KEYS = [
    "ce-specversion",
    "ce-id",
    "ce-type",
    "ce-source",
    "ce-time",
    "cloudEvents:subject",
    "content-type",
    "iothub-connection-device-id",
    "message-id",
    "iothub-enqueuedtime",
    "iothub-message-source",
]
properties_like = st.dictionaries(
    st.sampled_from(PROPERTY_KEYS) | st.text(max_size=8), property_values, max_size=6
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60), properties_like, properties_like)
def test_random_message_properties_never_raise(
    body: bytes, properties: dict[str, Any], system: dict[str, Any]
) -> None:
    # GIVEN any body with arbitrary application and system properties (binary CloudEvents, IoT Hub paths)
    raw = RawEvent(
        body=body, partition="0", sequence_number=1, properties=properties, system_properties=system
    )
    # WHEN normalized  THEN no exception, and each produced event is a valid canonical event
    result = normalize_raw_event(raw, NormalizeOptions())
    assert len(result.events) + len(result.rejections) >= 1
    for event in result.events:
        assert Event.model_validate(event.model_dump()) == event
        msgspec.json.encode(event.attributes)  # attributes are JSON values


def test_a_crashing_normalizer_costs_only_its_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a normalizer with a bug (a stand-in: no real input crashes one, so the boundary needs a fake)
    def broken_normalizer(record: dict[str, Any], provenance: object) -> Event:
        raise KeyError("bug")

    monkeypatch.setitem(normalize_module._BY_FORMAT, "eventgrid", broken_normalizer)
    grid = {
        "id": "g",
        "eventType": "A.B",
        "eventTime": "2024-01-01T00:00:00Z",
        "dataVersion": "1",
        "subject": "s",
    }
    # WHEN an array mixes a record it handles with good O365 records
    result = normalize_raw_event(RawEvent(body=msgspec.json.encode([O365, grid, O365])))
    # THEN the other records still become events and the crash is a rejection naming the error type
    assert len(result.events) == 2
    assert [(r.index, r.reason) for r in result.rejections] == [
        (1, "internal error while normalizing: KeyError")
    ]


@pytest.mark.parametrize("body", [b'"\x80"', b'{"Id": "\xff"}'])
def test_invalid_utf8_inside_a_string_is_rejected_as_invalid_json(body: bytes) -> None:
    # GIVEN bytes that are JSON-shaped but not UTF-8  WHEN normalized  THEN a precise reason, no internal error
    [rejection] = normalize_raw_event(RawEvent(body=body), NormalizeOptions()).rejections
    assert rejection.reason.startswith("invalid JSON: text is not UTF-8 at byte")
