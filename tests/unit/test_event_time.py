"""Event-time sanity (shared/pipeline/event_time.py): far-future and (optionally) stale events are refused
with a reason naming both times; the limit itself is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.events.models import Event
from shared.pipeline.event_time import (
    EVENT_TIME_AHEAD,
    EVENT_TOO_OLD,
    EventTimePolicy,
    describe_span,
    screen_event_times,
)
from shared.settings import Settings

ENQUEUED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
POLICY = EventTimePolicy(max_skew=timedelta(seconds=300))


def event(time: datetime, *, enqueued: datetime | None = ENQUEUED, event_id: str = "e1") -> Event:
    return Event(id=event_id, source="json", type="Test/Event", time=time, entity="ada", enqueued_time=enqueued)


def test_event_exactly_at_the_skew_limit_is_kept() -> None:
    # GIVEN an event 300 s ahead of its enqueued time and a 300 s skew  WHEN screened  THEN it is kept
    kept, refused = screen_event_times([event(ENQUEUED + timedelta(seconds=300))], POLICY)
    assert [e.id for e in kept] == ["e1"] and refused == []


def test_event_one_microsecond_over_the_skew_is_refused_with_both_times() -> None:
    # GIVEN an event just over the skew  WHEN screened  THEN refused; the reason names both times and the setting
    late = ENQUEUED + timedelta(seconds=300, microseconds=1)
    kept, refused = screen_event_times([event(late)], POLICY)
    assert kept == []
    reason = refused[0].reason
    assert reason.startswith(EVENT_TIME_AHEAD + ":")
    assert late.isoformat() in reason and ENQUEUED.isoformat() in reason
    assert "over the 300 s allowed by SQUALL_MAX_CLOCK_SKEW" in reason


def test_event_dated_2099_is_refused_as_decades_ahead() -> None:
    # GIVEN a record dated 2099  WHEN screened  THEN the reason says how far ahead, in years
    kept, refused = screen_event_times([event(datetime(2099, 1, 1, tzinfo=UTC))], POLICY)
    assert kept == []
    assert "is 73 years ahead of enqueued time 2026-03-02T09:30:00+00:00" in refused[0].reason


def test_year_9999_is_refused_without_overflow() -> None:
    # GIVEN the latest time Python knows, and an enqueued time near it  WHEN screened  THEN no crash
    far = datetime.max.replace(tzinfo=UTC)
    kept, refused = screen_event_times([event(far), event(far, enqueued=far, event_id="e2")], POLICY)
    assert [r.event.id for r in refused] == ["e1"] and "7974 years ahead" in refused[0].reason
    assert [e.id for e in kept] == ["e2"]  # an enqueued time of year 9999: nothing is later than it


def test_without_enqueued_time_the_wall_clock_is_the_reference() -> None:
    # GIVEN events without an enqueued time  WHEN screened at a known wall clock  THEN measured against it
    now = ENQUEUED
    ok, ahead = event(now + timedelta(seconds=10), enqueued=None), event(now + timedelta(hours=2), enqueued=None)
    kept, refused = screen_event_times([ok, ahead], POLICY, now=now)
    assert kept == [ok]
    assert "2 h ahead of the wall clock 2026-03-02T09:30:00+00:00" in refused[0].reason


def test_stale_events_are_refused_only_when_a_maximum_age_is_set() -> None:
    # GIVEN an event 8 days older than its enqueued time
    old = event(ENQUEUED - timedelta(days=8))
    # WHEN screened without, then with a 7-day maximum age  THEN kept, then refused with the setting named
    assert screen_event_times([old], POLICY)[0] == [old]
    kept, refused = screen_event_times([old], EventTimePolicy(max_age=timedelta(days=7)))
    assert kept == [] and refused[0].reason.startswith(EVENT_TOO_OLD + ":")
    assert "is 8 days behind enqueued time" in refused[0].reason and "SQUALL_MAX_EVENT_AGE" in refused[0].reason


def test_event_exactly_at_the_maximum_age_is_kept() -> None:
    at_limit = event(ENQUEUED - timedelta(days=7))
    assert screen_event_times([at_limit], EventTimePolicy(max_age=timedelta(days=7)))[0] == [at_limit]


def test_order_of_kept_events_is_preserved() -> None:
    times = [ENQUEUED, datetime(2099, 1, 1, tzinfo=UTC), ENQUEUED - timedelta(minutes=1)]
    events = [event(t, event_id=f"e{i}") for i, t in enumerate(times)]
    kept, _ = screen_event_times(events, POLICY)
    assert [e.id for e in kept] == ["e0", "e2"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("300", timedelta(seconds=300)), ("PT5M", timedelta(minutes=5)), ("P1D", timedelta(days=1)), ("0", timedelta())],
)
def test_skew_setting_takes_seconds_or_an_iso_duration(value: str, expected: timedelta) -> None:
    assert Settings(SQUALL_MAX_CLOCK_SKEW=value).max_clock_skew == expected


def test_defaults_allow_300_seconds_of_skew_and_no_age_limit() -> None:
    settings = Settings()
    assert settings.max_clock_skew == timedelta(seconds=300) and settings.max_event_age is None
    assert Settings(SQUALL_MAX_EVENT_AGE="").max_event_age is None


@pytest.mark.parametrize("value", ["-5", "soon", "P-1D"])
def test_a_bad_duration_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match="SQUALL_MAX_CLOCK_SKEW"):
        Settings(SQUALL_MAX_CLOCK_SKEW=value)


def test_spans_read_as_a_person_reads_them() -> None:
    assert [describe_span(timedelta(seconds=s)) for s in (300, 9000, 8 * 86400, 73 * 365.25 * 86400)] == [
        "300 s",
        "2.5 h",
        "8 days",
        "73 years",
    ]
