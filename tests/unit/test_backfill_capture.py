"""Reading Event Hubs Capture: names in the Capture layout, EnqueuedTimeUtc as Capture writes it,
records as the RawEvents the trigger would hand in, and the age limit measured from now."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from shared.events import Event
from shared.pipeline.event_time import EventTimePolicy, screen_event_times
from squall.backfill import CaptureFormatError, TimeWindow, parse_capture_name, parse_enqueued_time
from squall.backfill.capture import read_capture_records
from squall.backfill.replay import capture_batches
from tests.capture_files import Captured, capture_bytes, dotnet_time

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_name_in_the_capture_layout_gives_stream_partition_and_window_start() -> None:
    found = parse_capture_name("downloads/capture/evhns-squall/usage-events/12/2026/03/01/09/15/00.avro")
    assert found is not None
    assert (found.stream, found.partition, found.opened) == (
        "evhns-squall/usage-events", "12", datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
    )  # fmt: skip
    assert found.partition_name == "evhns-squall/usage-events/12"


@pytest.mark.parametrize(
    "name", ["ns/hub/0/2026/03/01/09/15.avro", "ns/hub/x/2026/03/01/09/15/00.avro", "ns/hub/0/2026/13/01/09/15/00.avro",
             "ns/hub/0/2026/03/01/09/15/00.json"],
)  # fmt: skip
def test_a_name_outside_the_layout_is_not_a_capture_file(name: str) -> None:
    assert parse_capture_name(name) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/1/2026 9:15:02 AM", datetime(2026, 3, 1, 9, 15, 2, tzinfo=UTC)),
        ("3/1/2026 12:00:00 AM", datetime(2026, 3, 1, 0, 0, tzinfo=UTC)),
        ("3/1/2026 12:30:00 PM", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("12/31/2026 11:59:59 PM", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2018-06-11T00:00:08.2250000Z", datetime(2018, 6, 11, 0, 0, 8, 225000, tzinfo=UTC)),
        ("2026-03-01T10:15:02+01:00", datetime(2026, 3, 1, 9, 15, 2, tzinfo=UTC)),
    ],
)
def test_enqueued_time_is_read_in_capture_s_format_and_iso_8601(text: str, expected: datetime) -> None:
    assert parse_enqueued_time(text) == expected


def test_dotnet_writer_and_reader_agree_on_every_hour() -> None:
    for hour in range(24):
        moment = T0.replace(hour=hour, minute=7, second=9)
        assert parse_enqueued_time(dotnet_time(moment)) == moment


def test_records_become_raw_events_with_provenance_and_properties() -> None:
    # GIVEN a capture file of two messages, one with application properties and a partition key
    data = capture_bytes([
        Captured(b'{"a": 1}', T0, 41, properties={"squall-format": "json", "n": 3}, partition_key="alice"),
        Captured(b"{}", T0 + timedelta(minutes=20), 42),
    ])  # fmt: skip
    capture = parse_capture_name("ns/hub/3/2026/03/01/09/00/00.avro")
    assert capture is not None
    # WHEN read for a window that ends before the second message
    raws = list(read_capture_records(io.BytesIO(data), capture, TimeWindow(T0, T0 + timedelta(minutes=10))))
    # THEN the first message, as the trigger would have handed it in
    assert len(raws) == 1
    raw = raws[0]
    assert (raw.body, raw.partition, raw.partition_key, raw.sequence_number, raw.offset, raw.enqueued_time) == (
        b'{"a": 1}', "ns/hub/3", "alice", 41, "41984", T0
    )  # fmt: skip
    assert raw.properties == {"squall-format": "json", "n": 3}


def test_a_file_that_is_not_avro_raises_a_format_error_naming_it() -> None:
    capture = parse_capture_name("ns/hub/3/2026/03/01/09/00/00.avro")
    assert capture is not None
    with pytest.raises(CaptureFormatError, match="ns/hub/3/2026/03/01/09/00/00.avro: not an Event Hubs Capture"):
        list(read_capture_records(io.BytesIO(b"not avro"), capture, TimeWindow(T0, T0 + timedelta(days=1))))


def test_a_window_keeps_files_opened_up_to_the_longest_capture_interval_before_it() -> None:
    window = TimeWindow(T0, T0 + timedelta(hours=1))
    opened = [
        T0 - timedelta(minutes=16),
        T0 - timedelta(minutes=15),
        T0 + timedelta(minutes=59),
        T0 + timedelta(hours=1),
    ]
    names = [f"ns/hub/0/{moment:%Y/%m/%d/%H/%M/%S}.avro" for moment in opened]
    kept = [window.may_hold(capture) for name in names if (capture := parse_capture_name(name))]
    assert kept == [False, True, True, False]


def test_batches_hold_one_partition_each_in_sequence_order() -> None:
    from shared.events import RawEvent

    raws = [RawEvent(body=b"{}", partition=f"p{n % 2}", sequence_number=n) for n in range(7)]
    batches = list(capture_batches(raws, batch_size=2))
    assert [[raw.sequence_number for raw in batch] for batch in batches] == [[0, 2], [1, 3], [4, 6], [5]]


def _event(at: datetime, enqueued: datetime) -> Event:
    return Event(id="e1", source="json", type="t", time=at, entity="alice", enqueued_time=enqueued)


def test_age_from_now_refuses_an_event_that_was_fresh_when_enqueued() -> None:
    # GIVEN an event enqueued a second after it happened, three days ago
    now = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    event = _event(now - timedelta(days=3), now - timedelta(days=3) + timedelta(seconds=1))
    live = EventTimePolicy(max_age=timedelta(days=1))
    # THEN the live check (from enqueued time) keeps it; the backfill check (from now) refuses it
    assert screen_event_times([event], live, now=now)[0] == [event]
    kept, refused = screen_event_times([event], EventTimePolicy(max_age=timedelta(days=1), age_from="now"), now=now)
    assert kept == []
    assert "is 3 days behind the wall clock 2026-03-04T09:00:00+00:00" in refused[0].reason
