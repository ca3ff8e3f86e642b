"""process_batch: the one orchestration of normalize -> skip duplicates -> rules -> commit.

Errors are data at this boundary: every event is processed or dead-lettered with its reason, and
the BatchReport says which. Only a failure of the whole batch (the store down for everyone) raises,
so the Functions retry policy replays the batch. Delivery is not here: the planned actions go to
the outbox and the relay delivers them beside ingestion (``outbox.py``: the Cosmos DB change feed
in Azure, a relay task locally, the timer as a safety net), so a slow or down destination never
slows ingestion. Replays are safe and cost nothing per event:

0. events are normalized, and those whose time is not sane (``event_time``) dead-lettered;
1. the batch's actions are written to its outbox document (one per batch, merged by action key),
   then each entity's state; a state records the sequence numbers it applied, so a replay skips
   what an earlier attempt committed, and plans the same keys for the rest;
2. a batch whose events match nothing and touch no state makes no store request at all;
3. events of suppressed entities (the suppression list, cached with the rule set: a set lookup per
   entity, no store request) are counted ``events_suppressed`` and dropped before the rules: no
   state of theirs is read or written, and nothing is planned for them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence

from shared.events import BatchNormalized, NormalizeOptions, RejectedRecord, normalize_batch
from shared.events.models import Event, RawEvent
from shared.events.options import SOURCE_OPTIONS, SourceOption
from shared.log_fields import entity_hash
from shared.pipeline.commit import evaluate_and_commit
from shared.pipeline.deps import PipelineDeps
from shared.pipeline.event_time import EventTimePolicy, screen_event_times
from shared.pipeline.ledger import BatchLedger, audit_shadowed
from shared.pipeline.report import BatchReport

__all__ = ["FORMAT_PROPERTY", "batch_name", "process_batch"]

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
    fresh = deps.recent.fresh(events)
    ledger.duplicates(len(events) - len(fresh))
    ruleset = await deps.rules.current()
    taken = _not_suppressed(fresh, ruleset.suppressed, ledger) if ruleset.suppressed else fresh
    try:
        await evaluate_and_commit(taken, ruleset, deps.states, ledger, batch=batch_name(raw_events, fresh))
    finally:
        await ledger.park(deps.deadletters, deps.dedupe, ttl_s=deps.dedupe_ttl_s)
        await audit_shadowed(ledger, deps.states, deps.audit)
        ledger.elapsed(time.perf_counter() - started)
    deps.recent.remember(fresh)
    return ledger.report


def batch_name(raw_events: Sequence[RawEvent], events: Sequence[Event]) -> str:
    """The name of a batch's outbox document, the same on every replay of the batch: its partition
    and first sequence number (where a replay starts), or else a digest of its event ids."""
    first = raw_events[0] if raw_events else None
    if first is not None and first.partition is not None and first.sequence_number is not None:
        return f"{first.partition}:{first.sequence_number}"
    digest = hashlib.sha256("\n".join(e.id for e in events).encode()).hexdigest()[:32]
    return f"ids:{digest}"


def _not_suppressed(events: list[Event], suppressed: frozenset[str], ledger: BatchLedger) -> list[Event]:
    """The events of entities not on the suppression list (one hash per entity of the batch); the
    others are counted and go no further."""
    verdicts: dict[str, bool] = {}
    kept = []
    for event in events:
        hit = verdicts.get(event.entity)
        if hit is None:
            hit = verdicts[event.entity] = entity_hash(event.entity) in suppressed
        if not hit:
            kept.append(event)
    ledger.suppressed(len(events) - len(kept))
    return kept


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
