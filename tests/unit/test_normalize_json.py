"""Plain JSON through SQUALL_JSON_FIELD_MAP, and the fast Event construction every normalizer uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from shared.events import Event, NormalizeOptions, RawEvent, normalize_raw_event, parse_json_field_map
from shared.events.canonical import build_event
from shared.events.errors import RecordRejected
from shared.events.provenance import Provenance
from shared.settings import Settings
from tests.fixtures import jsonl_lines, load_json

FIELD_MAP = {"id": "eventId", "type": "name", "time": "ts", "entity": "user.id", "tenant": "org"}
OPTIONS = NormalizeOptions(json_field_map=FIELD_MAP)
RECORD = {
    "eventId": "ev-1",
    "name": "checkout",
    "ts": "2024-03-01T10:00:00Z",
    "user": {"id": "u-1"},
    "org": "acme",
    "amount": 12.5,
}


def normalize(record: Any, options: NormalizeOptions = OPTIONS) -> Any:
    raw = RawEvent(body=msgspec.json.encode(record), partition="7", sequence_number=3)
    return normalize_raw_event(raw, options)


def test_plain_json_record_maps_through_the_field_map() -> None:
    # GIVEN a plain JSON record and a field map with a dotted entity path
    # WHEN normalized
    (event,) = normalize(RECORD).events
    # THEN canonical fields come from the mapped paths; consumed top-level fields leave attributes
    assert (event.id, event.source, event.type, event.time, event.entity, event.tenant) == (
        "ev-1",
        "json",
        "checkout",
        datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        "u-1",
        "acme",
    )
    assert event.attributes == {"user": {"id": "u-1"}, "amount": 12.5}


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1709287200, datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        (1709287200123, datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("1709287200", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        (1709287200.5, datetime(2024, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-03-01T11:00:00+01:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_plain_json_time_accepts_iso_and_epoch_seconds_or_millis(ts: object, expected: datetime) -> None:
    (event,) = normalize({**RECORD, "ts": ts}).events
    assert event.time == expected


def test_numeric_ids_become_text_and_missing_tenant_is_none() -> None:
    record = {key: value for key, value in RECORD.items() if key != "org"}
    (event,) = normalize({**record, "eventId": 991, "user": {"id": 5}}).events
    assert (event.id, event.entity, event.tenant) == ("991", "5", None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eventId": None}, "json: missing required field 'eventId' (mapped to id)"),
        ({"user": "u-1"}, "json: missing required field 'user.id' (mapped to entity)"),
        ({"name": ""}, "json: field 'name' (mapped to type) must be a non-empty string"),
        ({"eventId": [1]}, "json: field 'eventId' (mapped to id) must be a string or integer, got array"),
        ({"ts": "soon"}, "json: field 'ts' is not an ISO 8601 timestamp"),
        ({"ts": 10**30}, "json: field 'ts' is out of range for an epoch timestamp"),
        ({"ts": True}, "json: field 'ts' must be a timestamp string or number, got boolean"),
    ],
)
def test_plain_json_with_bad_field_is_rejected_with_precise_reason(
    change: dict[str, Any], reason: str
) -> None:
    result = normalize({**RECORD, **change})
    assert [r.reason for r in result.rejections] == [reason]


def test_field_map_setting_text_is_parsed_and_validated() -> None:
    settings = Settings(
        SQUALL_JSON_FIELD_MAP=msgspec.json.encode(FIELD_MAP).decode(), SQUALL_EVENT_FORMAT="json"
    )
    options = NormalizeOptions.from_settings(settings)
    assert (options.source, dict(options.json_field_map or {})) == ("json", FIELD_MAP)
    with pytest.raises(ValueError, match="SQUALL_JSON_FIELD_MAP is not valid JSON"):
        parse_json_field_map("{id: 1}")
    with pytest.raises(ValueError, match="unknown canonical fields: colour"):
        parse_json_field_map('{"id":"a","type":"b","time":"c","entity":"d","colour":"e"}')
    with pytest.raises(ValueError, match="dotted field path"):
        parse_json_field_map('{"id":"a","type":"b","time":"c","entity":"d.."}')


def all_fixture_events() -> list[Event]:
    bodies = [
        line
        for name in ("o365_microsoft_docs.jsonl", "o365_recreated.jsonl", "o365_constructed_quirks.jsonl")
        for line in jsonl_lines(name)
    ]
    bodies += [
        msgspec.json.encode(item["payload"]) for item in load_json("eventgrid_samples.json")["samples"]
    ]
    bodies.append(msgspec.json.encode(RECORD))
    events: list[Event] = []
    for body in bodies:
        raw = RawEvent(
            body=body, partition="1", sequence_number=2, enqueued_time=datetime(2024, 1, 1, tzinfo=UTC)
        )
        events.extend(normalize_raw_event(raw, OPTIONS).events)
    return events


def test_fast_built_events_equal_pydantic_validated_events() -> None:
    # GIVEN every event the fixtures produce (built without re-running pydantic validation)
    events = all_fixture_events()
    assert len(events) > 20
    for event in events:
        # WHEN the same values go through full validation  THEN the result is equal, field for field
        assert Event(**event.model_dump()) == event
        assert event.model_copy(update={"tenant": "x"}).tenant == "x"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"event_id": " "}, "o365: canonical id is empty"),
        ({"entity": ""}, "o365: canonical entity is empty"),
        ({"time": datetime(2024, 1, 1)}, "o365: event time is not a timezone-aware datetime"),
        ({"tenant": 5}, "o365: tenant must be text"),
    ],
)
def test_build_event_enforces_the_model_invariants(values: dict[str, Any], reason: str) -> None:
    arguments: dict[str, Any] = {
        "event_id": "1",
        "event_type": "a/b",
        "time": datetime(2024, 1, 1, tzinfo=UTC),
        "entity": "u",
        "tenant": None,
        "attributes": {},
        "provenance": Provenance(None, None, None),
        **values,
    }
    with pytest.raises(RecordRejected) as caught:
        build_event("o365", **arguments)
    assert caught.value.reason == reason
