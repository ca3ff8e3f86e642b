"""Captured events through the rules: a dry run (``--test``) or the local runtime (``run``).

- ``dry_run_captured``: each captured record is normalized as the trigger's batch would be (its
  ``squall-format`` property honoured), screened like the live pipeline (``SQUALL_MAX_CLOCK_SKEW``,
  ``SQUALL_MAX_EVENT_AGE`` from the *enqueued* time: what the live app would have done then), and
  fed to ``DryRun`` — nothing is sent, nothing stored.
- ``capture_batches``: hub-like batches (one partition each, sequence order) for ``run_local``; the
  age limit is then measured from *now* (``backfill_policy``): a backfill delivers today, so an
  event older than ``SQUALL_MAX_EVENT_AGE`` is dead-lettered as stale instead of starting a journey.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from shared.events import NormalizeOptions, RawEvent, normalize_raw_event
from shared.events.options import SOURCE_OPTIONS
from shared.pipeline.batch import FORMAT_PROPERTY
from shared.pipeline.dry_run import ClockMode, DryRun, DryRunRejection, DryRunReport
from shared.pipeline.event_time import EventTimePolicy, screen_event_times
from shared.rules import CompiledRuleSet
from shared.settings import Settings
from squall.local_input import BATCH_SIZE

__all__ = ["CaptureCount", "backfill_policy", "capture_batches", "counted", "dry_run_captured", "live_policy"]


@dataclass(slots=True)
class CaptureCount:
    """What a backfill read: events within the window (the files are listed by the source)."""

    events: int = 0


def counted(events: Iterable[RawEvent], count: CaptureCount) -> Iterator[RawEvent]:
    for raw in events:
        count.events += 1
        yield raw


def live_policy(settings: Settings, *, max_event_age: timedelta | None = None) -> EventTimePolicy:
    """The live trigger's event-time checks: the age (``max_event_age`` or ``SQUALL_MAX_EVENT_AGE``)
    measured from each event's enqueued time."""
    age = max_event_age if max_event_age is not None else settings.max_event_age
    return EventTimePolicy(max_skew=settings.max_clock_skew, max_age=age)


def backfill_policy(settings: Settings, *, max_event_age: timedelta | None = None) -> EventTimePolicy:
    """A backfill run's checks: the age (``max_event_age`` or ``SQUALL_MAX_EVENT_AGE``) from now."""
    age = max_event_age if max_event_age is not None else settings.max_event_age
    return EventTimePolicy(max_skew=settings.max_clock_skew, max_age=age, age_from="now")


def dry_run_captured(
    events: Iterable[RawEvent],
    ruleset: CompiledRuleSet,
    *,
    options: NormalizeOptions,
    policy: EventTimePolicy,
    clock: ClockMode = "event",
) -> DryRunReport:
    """Replay captured events through ``ruleset`` on a virtual clock; rejections name the partition and
    sequence number of the record (never its payload)."""
    run = DryRun(ruleset, clock=clock, options=options)
    per_format: dict[str, NormalizeOptions] = {}
    for raw in events:
        result = normalize_raw_event(raw, _options_for(raw, options, per_format))
        where = f"partition {raw.partition} sequence {raw.sequence_number}"
        for rejection in result.rejections:
            run.report.rejections.append(DryRunRejection(None, rejection.index, f"{where}: {rejection.reason}"))
        kept, refused = screen_event_times(result.events, policy)
        for refusal in refused:
            run.report.rejections.append(DryRunRejection(None, None, f"{where}: {refusal.reason}"))
        for event in kept:
            run.feed_event(event)
    return run.finish()


def capture_batches(events: Iterable[RawEvent], *, batch_size: int = BATCH_SIZE) -> Iterator[list[RawEvent]]:
    """Cut captured events into batches of one partition each, in sequence order, as the trigger
    delivers them (a partition's batch goes out once full; the rest at the end)."""
    pending: dict[str, list[RawEvent]] = {}
    for raw in events:
        batch = pending.setdefault(raw.partition or "0", [])
        batch.append(raw)
        if len(batch) >= batch_size:
            yield pending.pop(raw.partition or "0")
    yield from pending.values()


def _options_for(raw: RawEvent, options: NormalizeOptions, per_format: dict[str, NormalizeOptions]) -> NormalizeOptions:
    """A ``squall-format`` message property overrides the configured format, as in ``process_batch``."""
    wanted = raw.properties.get(FORMAT_PROPERTY) if raw.properties else None
    if not isinstance(wanted, str) or wanted == options.source or wanted not in SOURCE_OPTIONS:
        return options
    if wanted not in per_format:
        per_format[wanted] = dataclasses.replace(options, source=wanted)  # type: ignore[arg-type]
    return per_format[wanted]
