"""process_batch: the one orchestration of normalize -> de-duplicate -> rules -> commit -> deliver.

Errors are data at this boundary: every event is processed or dead-lettered with its reason, and
the BatchReport says which. Only a failure of the whole batch (a store or destination that is down
for everyone) raises, so the Functions retry policy replays the batch. Replays are safe:

0. events are normalized, and those whose time is not sane (``event_time``) dead-lettered;
1. entity state and the actions it planned commit together (the outbox), per entity;
2. then the batch's event ids are remembered, so a replay skips them (and a per-partition
   sequence watermark in the state stops a half-committed batch from being applied twice);
3. then the batch delivers the entries it committed; each request is booked as it ends.

An entry has one deliverer at a time: the attempt that committed it, and after that only the timer
(``retry_pending_outbox``, a singleton, for entries older than its grace). A replayed batch does not
pick up entries an earlier attempt left: one of them may be on its way at that moment (the timer
firing a deadline for an event of this batch), and delivering it here too would send it twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from shared.events import BatchNormalized, NormalizeOptions, RejectedRecord, normalize_batch
from shared.events.models import Event, RawEvent
from shared.events.options import SOURCE_OPTIONS, SourceOption
from shared.pipeline.commit import evaluate_and_commit
from shared.pipeline.deps import BatchRetryRequired, PipelineDeps
from shared.pipeline.event_time import EventTimePolicy, screen_event_times
from shared.pipeline.ledger import BatchLedger
from shared.pipeline.outbox import EVENT_KEY_PREFIX, Outbox
from shared.pipeline.report import BatchReport
from shared.store.ports import DedupeStore

__all__ = ["FORMAT_PROPERTY", "process_batch"]

#: Message (application) property that names the event format of that one message.
FORMAT_PROPERTY = "squall-format"


async def process_batch(
    raw_events: Sequence[RawEvent], deps: PipelineDeps, *, source: SourceOption | None = None
) -> BatchReport:
    """Process one batch. ``source`` overrides the configured event format for this batch."""
    started = time.perf_counter()
    ledger = BatchLedger()
    options = deps.normalize_options if source is None else dataclasses.replace(deps.normalize_options, source=source)
    events = _normalize(raw_events, options, deps.event_time, ledger)
    fresh = await _split_duplicates(events, deps.dedupe, ledger)
    ruleset = await deps.rules.current()
    committed = await evaluate_and_commit(fresh, ruleset, deps.states, ledger)
    await deps.dedupe.remember([EVENT_KEY_PREFIX + e.id for e in fresh], ttl_s=deps.dedupe_ttl_s)
    try:
        await Outbox.of(deps).deliver(committed, ledger)
    except BatchRetryRequired as retry:
        retry.report = ledger.report
        raise
    finally:
        await ledger.park(deps.deadletters, deps.dedupe, ttl_s=deps.dedupe_ttl_s)
        ledger.elapsed(time.perf_counter() - started)
    return ledger.report


def _normalize(
    raw_events: Sequence[RawEvent], options: NormalizeOptions, policy: EventTimePolicy, ledger: BatchLedger
) -> list[Event]:
    """Normalized events whose time is sane; the rest are dead-lettered before any clock sees them."""
    if any(raw.properties and FORMAT_PROPERTY in raw.properties for raw in raw_events):
        normalized = _normalize_by_format(raw_events, options)
    else:
        normalized = normalize_batch(raw_events, options)  # the whole batch in one call: the hot path
    events, refused = screen_event_times(normalized.events, policy)
    ledger.normalized(raw_events, normalized, events=events, refused=refused)
    return events


def _normalize_by_format(raw_events: Sequence[RawEvent], options: NormalizeOptions) -> BatchNormalized:
    """A batch where some messages carry ``squall-format``: each run of messages with the same
    effective options is normalized together, in order."""
    normalized = BatchNormalized()
    per_format: dict[str, NormalizeOptions] = {}
    for message, raw in enumerate(raw_events):
        part = normalize_batch((raw,), _options_for(raw, options, per_format))
        normalized.events += part.events
        normalized.rejections += [RejectedRecord(message, rejected.rejection) for rejected in part.rejections]
    return normalized


def _options_for(raw: RawEvent, options: NormalizeOptions, per_format: dict[str, NormalizeOptions]) -> NormalizeOptions:
    """A message property ``squall-format`` overrides the configured format for that message."""
    wanted = raw.properties.get(FORMAT_PROPERTY) if raw.properties else None
    if not isinstance(wanted, str) or wanted == options.source or wanted not in SOURCE_OPTIONS:
        return options  # an unknown value is ignored with the configured format: the record still gets a reason
    if wanted not in per_format:
        per_format[wanted] = dataclasses.replace(options, source=wanted)  # type: ignore[arg-type]
    return per_format[wanted]


async def _split_duplicates(events: list[Event], dedupe: DedupeStore, ledger: BatchLedger) -> list[Event]:
    """The events not seen before (a replayed batch's, a producer's retried, are skipped)."""
    if not events:
        return []
    seen = {key[len(EVENT_KEY_PREFIX) :] for key in await dedupe.seen(EVENT_KEY_PREFIX + e.id for e in events)}
    fresh: list[Event] = []
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        fresh.append(event)
    ledger.duplicates(len(events) - len(fresh))
    return fresh
