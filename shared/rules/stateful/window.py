"""Windowed aggregates per entity, in event time: count, sum, avg, min, max, distinct over sliding
or tumbling windows, compared with a threshold each time an event is taken.

``SlidingWindow`` and ``TumblingWindow`` are chosen once, when the rule is compiled (``window_pattern``),
and each aggregate is one entry of ``AGGREGATES`` (how it reduces a list of values, how it adds a value
to a bucket, what a bucket gives): no string test per event.

Slot layouts (``SlidingWindowSlot``, ``TumblingWindowSlot`` in ``memory.py``; bounded; times in ms):
- sliding: event times and their values, sorted by time, at most ``MAX_SLIDING_EVENTS`` (the
  newest), pruned once older than ``size + allowed_lateness`` behind the watermark; the values are
  left out for ``count``; ``distinct`` stores short hashes of the values.
- tumbling: bucket start -> count, sum, min, max, distinct hashes, with only the figures the
  aggregate needs; buckets aligned on the epoch (UTC), kept while ``end + allowed_lateness`` is
  after the watermark, at most ``MAX_OPEN_BUCKETS``.

Lateness policy: an event is added to every window still open for it. A sliding window evaluates
the window ending at the event (``(t - size, t]``); a late event (older than the watermark minus
``allowed_lateness``) is evaluated against the current window ending at the watermark when it falls
inside it, and only kept otherwise. A tumbling window evaluates the event's bucket while that bucket
is open. An event whose windows have all closed is not added (it is counted as late).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import operator
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.events.models import Event
from shared.rules.conditions.state_split import StateReader
from shared.rules.definitions.actions import ActionSpec
from shared.rules.definitions.patterns import MAX_DISTINCT, MAX_OPEN_BUCKETS, MAX_SLIDING_EVENTS, WindowSpec
from shared.rules.language.fields import MISSING, FieldPath, compile_getter, parse_field_path
from shared.rules.language.times import span_ms, to_ms
from shared.rules.stateful.clock import EventClock
from shared.rules.stateful.memory import (
    BUCKET_COUNT,
    BUCKET_DISTINCT,
    BUCKET_MAX,
    BUCKET_MIN,
    BUCKET_SUM,
    SLIDING_TIMES,
    SLIDING_VALUES,
    TUMBLING_BUCKETS,
    RuleSlot,
    SlidingWindowSlot,
    TumblingBucket,
    TumblingWindowSlot,
)
from shared.rules.stateful.pattern import NO_VERDICT, Firing, Pattern, Verdict

log = logging.getLogger(__name__)

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
    "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}  # fmt: skip
_SKIP = object()


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregate: over a sliding window's values, and over a tumbling bucket's running figures."""

    of_values: Callable[[list[Any]], Any]  # a sliding window's values in range -> the aggregate (None: none)
    add: Callable[[TumblingBucket, Any], None]  # take one value into a tumbling bucket
    of_bucket: Callable[[TumblingBucket], Any]  # a tumbling bucket -> the aggregate (None: none)


def _add_count(bucket: TumblingBucket, value: Any) -> None:
    bucket[BUCKET_COUNT] = bucket.get(BUCKET_COUNT, 0) + 1


def _add_sum(bucket: TumblingBucket, value: Any) -> None:
    bucket[BUCKET_COUNT] = bucket.get(BUCKET_COUNT, 0) + 1
    bucket[BUCKET_SUM] = bucket.get(BUCKET_SUM, 0) + value


def _add_min(bucket: TumblingBucket, value: Any) -> None:
    bucket[BUCKET_COUNT] = bucket.get(BUCKET_COUNT, 0) + 1
    bucket[BUCKET_MIN] = min(bucket[BUCKET_MIN], value) if BUCKET_MIN in bucket else value


def _add_max(bucket: TumblingBucket, value: Any) -> None:
    bucket[BUCKET_COUNT] = bucket.get(BUCKET_COUNT, 0) + 1
    bucket[BUCKET_MAX] = max(bucket[BUCKET_MAX], value) if BUCKET_MAX in bucket else value


def _add_distinct(bucket: TumblingBucket, value: Any) -> None:
    seen = bucket.setdefault(BUCKET_DISTINCT, [])
    if value not in seen and len(seen) < MAX_DISTINCT:
        seen.append(value)


def _bucket_sum(bucket: TumblingBucket) -> Any:
    return bucket.get(BUCKET_SUM, 0) if bucket.get(BUCKET_COUNT) else None


def _bucket_avg(bucket: TumblingBucket) -> Any:
    taken = bucket.get(BUCKET_COUNT)
    return bucket.get(BUCKET_SUM, 0) / taken if taken else None


AGGREGATES: dict[str, Aggregate] = {
    "count": Aggregate(len, _add_count, lambda bucket: bucket.get(BUCKET_COUNT, 0)),
    "sum": Aggregate(lambda values: sum(values), _add_sum, _bucket_sum),
    "avg": Aggregate(lambda values: sum(values) / len(values) if values else None, _add_sum, _bucket_avg),
    "min": Aggregate(
        lambda values: min(values, default=None), _add_min, lambda b: b.get(BUCKET_MIN) if b.get(BUCKET_COUNT) else None
    ),
    "max": Aggregate(
        lambda values: max(values, default=None), _add_max, lambda b: b.get(BUCKET_MAX) if b.get(BUCKET_COUNT) else None
    ),
    "distinct": Aggregate(
        lambda values: len(set(values)), _add_distinct, lambda bucket: len(bucket.get(BUCKET_DISTINCT, ()))
    ),
}


class _Window[Slot: RuleSlot](Pattern[Slot]):
    """What both kinds share: the value an event contributes, the threshold, the protocol's no-ops."""

    def __init__(
        self, rule_id: str, spec: WindowSpec, *, action: ActionSpec, lateness: timedelta, fingerprint: str
    ) -> None:
        self.rule_id = rule_id
        self.fingerprint = fingerprint
        self.spec = spec
        self._action = action
        self._size = span_ms(spec.size)
        self._lateness = span_ms(lateness)
        self._compare = _COMPARE[spec.op]
        self._get = compile_getter(parse_field_path(spec.field)) if spec.field else None
        self._aggregate = AGGREGATES[spec.aggregate]
        self._numeric = spec.aggregate not in ("count", "distinct")

    def might_take(self, event: Event) -> bool:
        return True  # the rule's own filter decides which events the window counts

    def observe(self, event: Event, slot: Slot, clock: EventClock, reader: StateReader) -> Verdict:
        value = self._value_of(event)
        if value is _SKIP:
            return NO_VERDICT
        result = self._take(slot, clock, value)
        if result is _SKIP:
            return NO_VERDICT
        holds = result is not None and self._compare(result, self.spec.value)
        return Verdict((Firing(self._action, event, event.time),) if holds else (), holds)

    def deadline(self, slot: Slot) -> datetime | None:
        return None

    def fire_due(self, slot: Slot, now: datetime) -> tuple[Firing, ...]:
        return ()

    def read(self, slot: Slot | None, path: FieldPath, at: datetime) -> Any:
        if slot is None:
            return MISSING
        result = self._current(slot, to_ms(at))
        return MISSING if result is None else result

    def _take(self, slot: Slot, clock: EventClock, value: Any) -> Any:
        raise NotImplementedError

    def _current(self, slot: Slot, end: int) -> Any:
        raise NotImplementedError

    def _value_of(self, event: Event) -> Any:
        if self._get is None:
            return 1
        value = self._get(event)
        if value is MISSING or value is None:
            return _SKIP
        if not self._numeric:
            return _short_hash(value) if self.spec.aggregate == "distinct" else 1
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            log.warning(
                "rule %s: window field %s of event %s is not a finite number; event not counted",
                self.rule_id, self.spec.field, event.id,
            )  # fmt: skip
            return _SKIP
        return value


class SlidingWindow(_Window[SlidingWindowSlot]):
    """The window ending at each event: ``(t - size, t]``; entries kept in the slot's times and values."""

    def __init__(
        self, rule_id: str, spec: WindowSpec, *, action: ActionSpec, lateness: timedelta, fingerprint: str
    ) -> None:
        super().__init__(rule_id, spec, action=action, lateness=lateness, fingerprint=fingerprint)
        self._keeps_values = spec.aggregate != "count"

    def _take(self, slot: SlidingWindowSlot, clock: EventClock, value: Any) -> Any:
        newest = clock.newest
        horizon = newest - self._size - self._lateness
        if clock.at <= horizon:
            return _SKIP  # every window that could hold it has closed
        times, values = _entries(slot)
        position = bisect_right(times, clock.at)
        times.insert(position, clock.at)
        if self._keeps_values:
            values.insert(position, value)
        drop = max(bisect_right(times, horizon), len(times) - MAX_SLIDING_EVENTS)
        del times[:drop]
        if self._keeps_values:
            del values[:drop]
        slot[SLIDING_TIMES] = times
        if self._keeps_values:
            slot[SLIDING_VALUES] = values
        if not clock.is_late(self._lateness):
            return self._aggregate_range(times, values, clock.at)
        if clock.at > newest - self._size:
            return self._aggregate_range(times, values, newest)
        return _SKIP

    def _current(self, slot: SlidingWindowSlot, end: int) -> Any:
        """The aggregate of the window ending at ``end``; ``None`` when it holds no event (read as missing)."""
        times, values = _entries(slot)
        if bisect_right(times, end - self._size) == bisect_right(times, end):
            return None
        return self._aggregate_range(times, values, end)

    def _aggregate_range(self, times: list[int], values: list[Any], end: int) -> Any:
        low, high = bisect_right(times, end - self._size), bisect_right(times, end)
        if not self._keeps_values:
            return high - low
        return self._aggregate.of_values(values[low:high])


class TumblingWindow(_Window[TumblingWindowSlot]):
    """Buckets aligned on the epoch (UTC), ``[start, start + size)``, kept in the slot's buckets."""

    def _take(self, slot: TumblingWindowSlot, clock: EventClock, value: Any) -> Any:
        start = clock.at - clock.at % self._size
        newest = clock.newest
        if start + self._size + self._lateness <= newest:
            return _SKIP  # its bucket has closed
        buckets = slot.get(TUMBLING_BUCKETS)
        if not isinstance(buckets, dict):
            buckets = slot[TUMBLING_BUCKETS] = {}
        bucket = buckets.setdefault(str(start), {})
        self._aggregate.add(bucket, value)
        closed = [key for key in buckets if int(key) + self._size + self._lateness <= newest]
        for key in closed + sorted(buckets, key=int)[:-MAX_OPEN_BUCKETS]:
            buckets.pop(key, None)
        return self._aggregate.of_bucket(bucket)

    def _current(self, slot: TumblingWindowSlot, end: int) -> Any:
        start = end - end % self._size
        bucket = (slot.get(TUMBLING_BUCKETS) or {}).get(str(start))
        return self._aggregate.of_bucket(bucket) if isinstance(bucket, dict) else None


WINDOW_KINDS: dict[str, type[_Window[Any]]] = {"sliding": SlidingWindow, "tumbling": TumblingWindow}


def window_pattern(
    rule_id: str, spec: WindowSpec, *, action: ActionSpec, lateness: timedelta, fingerprint: str
) -> _Window[Any]:
    """The window of ``spec.kind``, chosen once here (never per event)."""
    return WINDOW_KINDS[spec.kind](rule_id, spec, action=action, lateness=lateness, fingerprint=fingerprint)


def _entries(slot: SlidingWindowSlot) -> tuple[list[int], list[Any]]:
    """The sliding entries, or fresh lists when the slot holds none (or damaged ones)."""
    times, values = slot.get(SLIDING_TIMES), slot.get(SLIDING_VALUES)
    if not isinstance(times, list):
        return [], []
    if not isinstance(values, list) or len(values) != len(times):
        values = [1] * len(times)
    return times, values


def _short_hash(value: Any) -> str:
    """Distinct values are kept as 12 hex digits of a hash: bounded size, never the payload."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
