"""Event-time sanity: an event dated far in the future (or, optionally, far in the past) is refused.

One record dated 2099 would otherwise move every event-time clock (the batch's ``latest_event_time``,
the local runtime's ``EventTimeClock``, the rules' per-entity watermark): every pending absence
would fire at once and no later deadline would. So, after normalization and before anything reads
an event's time, each event's time is compared with its enqueued time (or, without one, the wall
clock when the batch started):

- more than ``max_skew`` ahead (``SQUALL_MAX_CLOCK_SKEW``): dead-lettered, reason names both times;
- more than ``max_age`` behind, when set (``SQUALL_MAX_EVENT_AGE``): dead-lettered as stale. The age
  is measured from the enqueued time (``age_from="enqueued"``, the live trigger) or from the wall
  clock (``age_from="now"``: ``squall backfill`` replaying captured history, where an event of
  last week must not start a journey today unless the limit allows it).

A refused event changes nothing else: it is not evaluated, not remembered, and its time reaches no
clock. The hot path is one comparison per event (two with ``max_age``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from shared.events.models import Event

__all__ = [
    "DEFAULT_MAX_CLOCK_SKEW",
    "EVENT_TIME_AHEAD",
    "EVENT_TOO_OLD",
    "EventTimePolicy",
    "RefusedEvent",
    "screen_event_times",
]

DEFAULT_MAX_CLOCK_SKEW = timedelta(seconds=300)
#: Reason codes (the part before ':' that BatchReport counts).
EVENT_TIME_AHEAD = "event time ahead of enqueued time"
EVENT_TOO_OLD = "event older than the maximum event age"
_YEAR_S = 365.25 * 24 * 3600


@dataclass(frozen=True, slots=True)
class EventTimePolicy:
    """How far an event's time may be ahead of (``max_skew``) or behind (``max_age``) its enqueued time;
    ``age_from="now"`` measures the age from the wall clock instead (a replay of old history)."""

    max_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW
    max_age: timedelta | None = None
    age_from: Literal["enqueued", "now"] = "enqueued"


@dataclass(frozen=True, slots=True)
class RefusedEvent:
    event: Event
    reason: str


def screen_event_times(
    events: Sequence[Event], policy: EventTimePolicy, *, now: datetime | None = None
) -> tuple[list[Event], list[RefusedEvent]]:
    """The events whose time is sane, in order, and those refused with their reason."""
    wall = now or datetime.now(UTC)
    skew, age = policy.max_skew, policy.max_age
    by_wall = policy.age_from == "now"
    wall_ceiling = _plus(wall, skew)
    kept: list[Event] = []
    refused: list[RefusedEvent] = []
    for event in events:
        enqueued = event.enqueued_time
        try:
            ahead = event.time > (wall_ceiling if enqueued is None else enqueued + skew)
        except OverflowError:  # an enqueued time within the skew of year 9999: nothing is later
            ahead = False
        if ahead:
            refused.append(RefusedEvent(event, _ahead_reason(event, enqueued or wall, enqueued is None, skew)))
        elif age is not None and event.time < ((aged_from := wall if by_wall or enqueued is None else enqueued) - age):
            refused.append(RefusedEvent(event, _stale_reason(event, aged_from, aged_from is wall, age)))
        else:
            kept.append(event)
    return kept, refused


def _plus(moment: datetime, span: timedelta) -> datetime:
    """``moment + span``, or the latest time there is when that is past year 9999."""
    try:
        return moment + span
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _ahead_reason(event: Event, reference: datetime, wall: bool, skew: timedelta) -> str:
    return _reason(EVENT_TIME_AHEAD, event, event.time - reference, "ahead of", reference, wall, skew,
                   "SQUALL_MAX_CLOCK_SKEW")  # fmt: skip


def _stale_reason(event: Event, reference: datetime, wall: bool, age: timedelta) -> str:
    return _reason(EVENT_TOO_OLD, event, reference - event.time, "behind", reference, wall, age,
                   "SQUALL_MAX_EVENT_AGE")  # fmt: skip


def _reason(
    code: str, event: Event, by: timedelta, side: str, reference: datetime, wall: bool, limit: timedelta, setting: str
) -> str:
    """``<code>: event E time T is <by> <side> <enqueued time|the wall clock> R, over the <limit>
    allowed by <setting>``: both times, so a person can tell which clock was wrong."""
    what = "the wall clock" if wall else "enqueued time"
    return (
        f"{code}: event {event.id} time {event.time.isoformat()} is {describe_span(by)} {side} {what} "
        f"{reference.isoformat()}, over the {describe_span(limit)} allowed by {setting}"
    )


def describe_span(span: timedelta) -> str:
    """A span as a person reads it: ``300 s``, ``2.5 h``, ``73 years``."""
    seconds = span.total_seconds()
    if seconds < 3600:
        return f"{seconds:g} s"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.3g} h"
    if seconds < _YEAR_S:
        return f"{seconds / 86400:.3g} days"
    return f"{seconds / _YEAR_S:.0f} years"
