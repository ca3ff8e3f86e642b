"""The O365 hot path (inline checks, caches, no copies, direct Event assembly) changes no result."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import Event, RawEvent, RecordRejected, normalize_raw_event
from shared.events import o365 as o365_module
from shared.events.o365 import normalize_o365_record, normalize_owned_o365_record
from shared.events.provenance import Provenance
from shared.events.timestamps import parse_iso_timestamp
from squall.synthetic import generate_o365_records
from tests.fixtures import jsonl_lines

PROVENANCE = Provenance("2", 41, datetime(2024, 5, 1, 12, 0, tzinfo=UTC))

timestamp_texts = st.one_of(
    st.builds(
        lambda date, separator, time, zone: date + separator + time + zone,
        st.sampled_from(["2024-01-08", "20240108", "2024-W02-1", "2024-01-8", "2024-02-30"]),
        st.sampled_from(["T", " ", "t", "x", ""]),
        st.sampled_from(["", "08", "08:00", "08:00:00", "080000", "08:00:00.1234567", "08:00:00,5", "24:00:00"]),
        st.sampled_from(["", "Z", "z", "+00:00", "-05", "+0530", "+05:30:00", "+00", "+00:00+00:00"]),
    ),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(text=timestamp_texts)
def test_creation_time_fast_parse_equals_the_general_timestamp_parser(text: str) -> None:
    # GIVEN any CreationTime text, and the general parser's verdict on it
    try:
        expected: datetime | None = parse_iso_timestamp(text, fmt="o365", field="CreationTime")
    except RecordRejected:
        expected = None
    o365_module._TIMES.clear()
    # WHEN the O365 hot path parses it
    parsed = o365_module._parse_time(text)
    # THEN it is the same moment, in UTC, or rejected alike
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


def records() -> list[dict[str, object]]:
    fixtures = [
        msgspec.json.decode(line)
        for name in ("o365_microsoft_docs.jsonl", "o365_recreated.jsonl", "o365_constructed_quirks.jsonl")
        for line in jsonl_lines(name)
    ]
    return [record for record in fixtures if isinstance(record, dict)] + list(generate_o365_records(500, seed=9))


@pytest.mark.parametrize("record", records(), ids=lambda record: str(record.get("Id"))[:12])
def test_hot_path_event_is_a_valid_event_equal_to_a_fully_validated_one(record: dict[str, object]) -> None:
    # GIVEN a record as decoded from the wire
    original = copy.deepcopy(record)
    try:
        event = normalize_o365_record(record, PROVENANCE)
    except RecordRejected:
        pytest.skip("a quirk fixture the normalizer rejects (covered by the boundary tests)")
    # THEN the caller's record is untouched, and pydantic's own validation gives an equal event
    assert record == original
    assert Event.model_validate(event.model_dump()) == event
    assert Event(**dict(event)) == event
    assert event.model_fields_set == set(Event.model_fields)


def test_a_rejected_owned_record_is_left_unchanged_for_its_dead_letter() -> None:
    # GIVEN a record whose UserId is wrong, owned by the normalizer
    record = {**next(generate_o365_records(1, seed=2)), "UserId": 7}
    before = copy.deepcopy(record)
    # WHEN it is rejected  THEN the record (which becomes the dead letter's payload) is as it came
    with pytest.raises(RecordRejected, match="field 'UserId' must be a string, got number"):
        normalize_owned_o365_record(record, PROVENANCE)
    assert record == before


def test_events_sharing_the_fields_set_stay_independent_on_copy_with_update() -> None:
    # GIVEN two hot-path events
    first, second = (normalize_o365_record(r, PROVENANCE) for r in generate_o365_records(2, seed=4))
    # WHEN one is copied with an update
    changed = first.model_copy(update={"tenant": "other"})
    # THEN the copy has the update and the originals did not change
    assert changed.tenant == "other" and first.tenant != "other"
    assert first.model_fields_set == second.model_fields_set == set(Event.model_fields)


def test_hot_path_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a small cache limit
    monkeypatch.setattr(o365_module, "_CACHE_LIMIT", 50)
    # WHEN many distinct times and addresses pass
    for record in generate_o365_records(2000, seed=5):
        normalize_raw_event(RawEvent(body=msgspec.json.encode(record)))
    # THEN no cache grows past the limit
    for cache in (o365_module._TIMES, o365_module._CLIENT_IPS, o365_module._STATUSES, o365_module._TYPES):
        assert len(cache) <= 50
