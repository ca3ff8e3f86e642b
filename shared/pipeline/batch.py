"""process_batch: the one orchestration of normalize -> de-duplicate -> rules -> commit -> deliver.

Errors are data at this boundary: every event is processed or dead-lettered with its reason, and
the BatchReport says which. Only a failure of the whole batch (a store or destination that is down
for everyone) raises, so the Functions retry policy replays the batch. Replays are safe:

1. entity state and the actions it planned commit together (the outbox), per entity;
2. then the batch's event ids are remembered, so a replay skips them (and a per-partition
   sequence watermark in the state stops a half-committed batch from being applied twice);
3. then the outbox is delivered; delivered keys are remembered and their entries completed, so a
   replay re-sends only what was never delivered.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.actions.ports import ActionSender
from shared.batch_report import BatchReport
from shared.events import BatchNormalized, NormalizeOptions, RejectedRecord, normalize_batch
from shared.events.models import Event, RawEvent
from shared.events.options import SOURCE_OPTIONS, SourceOption
from shared.outbox_delivery import (
    EVENT_KEY_PREFIX,
    BatchRetryRequired,
    commit_entity_matches,
    count_matches,
    deliver_outbox,
    evaluate_safely,
    outbox_entries,
    plan_and_letter,
    write_dead_letters,
)
from shared.rules import CompiledRuleSet, RuleMatch
from shared.store.models import DeadLetter, EntityState, OutboxEntry
from shared.store.ports import DeadLetterSink, DedupeStore, StateStore
from shared.telemetry.log_fields import log_ids

log = logging.getLogger(__name__)

__all__ = ["BatchRetryRequired", "PipelineDeps", "RuleSetSource", "process_batch"]

#: Message (application) property that names the event format of that one message.
FORMAT_PROPERTY = "squall-format"
_APPLIED = "_applied"  # state.data key: partition -> last sequence number applied to this entity
_REPLAY_OUTBOX_LIMIT = 1000


class RuleSetSource(Protocol):
    async def current(self) -> CompiledRuleSet: ...


@dataclass(frozen=True, slots=True)
class PipelineDeps:
    """Everything process_batch needs, passed in (adapters are chosen by the caller)."""

    rules: RuleSetSource
    states: StateStore
    dedupe: DedupeStore
    deadletters: DeadLetterSink
    sender: ActionSender
    normalize_options: NormalizeOptions = field(default_factory=NormalizeOptions)
    dedupe_ttl_s: int = 7 * 24 * 3600


async def process_batch(
    raw_events: Sequence[RawEvent], deps: PipelineDeps, *, source: SourceOption | None = None
) -> BatchReport:
    """Process one batch. ``source`` overrides the configured event format for this batch."""
    started = time.perf_counter()
    report = BatchReport()
    letters: list[DeadLetter] = []
    options = deps.normalize_options if source is None else dataclasses.replace(deps.normalize_options, source=source)
    events = _normalize(raw_events, options, report, letters)
    fresh, replayed = await _split_duplicates(events, deps.dedupe, report)
    report.latest_event_time = max((e.time for e in events), default=None)
    ruleset = await deps.rules.current()
    committed = await _evaluate_and_commit(fresh, ruleset, deps.states, report, letters)
    await deps.dedupe.remember([EVENT_KEY_PREFIX + e.id for e in fresh], ttl_s=deps.dedupe_ttl_s)
    if replayed:  # a replay: deliver what an earlier attempt committed but never delivered
        committed += await deps.states.pending_outbox(entities=replayed, limit=_REPLAY_OUTBOX_LIMIT)
    try:
        await deliver_outbox(committed, deps.sender, deps.states, deps.dedupe, report, letters, deps.dedupe_ttl_s)
    except BatchRetryRequired as retry:
        retry.report = report
        raise
    finally:
        await _park(letters, deps, report)
        report.elapsed_s = time.perf_counter() - started
    return report


async def _park(letters: list[DeadLetter], deps: PipelineDeps, report: BatchReport) -> None:
    """Write the dead letters, except rejected messages an earlier attempt of this batch parked."""
    keys = {id(letter): _rejection_key(letter) for letter in letters}
    seen = await deps.dedupe.seen(key for key in keys.values() if key) if any(keys.values()) else set()
    fresh = [letter for letter in letters if keys[id(letter)] not in seen]
    await write_dead_letters(fresh, deps.deadletters, report)
    parked = [key for key in keys.values() if key and key not in seen]
    if parked:
        await deps.dedupe.remember(parked, ttl_s=deps.dedupe_ttl_s)


def _rejection_key(letter: DeadLetter) -> str | None:
    """A rejected message is the same letter on every replay: partition, sequence number, bytes."""
    if letter.kind != "event" or letter.partition is None or letter.sequence_number is None:
        return None
    digest = hashlib.sha256(letter.payload).hexdigest()[:16]
    return f"rejected:{letter.partition}:{letter.sequence_number}:{digest}"


def _normalize(
    raw_events: Sequence[RawEvent], options: NormalizeOptions, report: BatchReport, letters: list[DeadLetter]
) -> list[Event]:
    if any(raw.properties and FORMAT_PROPERTY in raw.properties for raw in raw_events):
        normalized = _normalize_by_format(raw_events, options)
    else:
        normalized = normalize_batch(raw_events, options)  # the whole batch in one call: the hot path
    for message, rejection in normalized.rejections:
        raw = raw_events[message]
        letters.append(
            DeadLetter(
                kind="event", reason=rejection.reason, payload=rejection.payload, partition=raw.partition,
                sequence_number=raw.sequence_number, offset=raw.offset, enqueued_time=raw.enqueued_time,
            )
        )  # fmt: skip
        log.warning(
            "event dead-lettered: %s (partition=%s sequence=%s index=%s)",
            rejection.reason, raw.partition, raw.sequence_number, rejection.index,
            extra=log_ids(partition=raw.partition, sequence_number=raw.sequence_number),
        )  # fmt: skip
    report.events_in += normalized.records
    report.events_normalized += len(normalized.events)
    report.events_dead_lettered += len(normalized.rejections)
    return normalized.events


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


async def _split_duplicates(
    events: list[Event], dedupe: DedupeStore, report: BatchReport
) -> tuple[list[Event], list[str]]:
    """Fresh events, and the entities of events seen before (a replayed batch, a producer retry)."""
    if not events:
        return [], []
    seen = {key[len(EVENT_KEY_PREFIX) :] for key in await dedupe.seen(EVENT_KEY_PREFIX + e.id for e in events)}
    fresh: list[Event] = []
    replayed: dict[str, None] = {}
    for event in events:
        if event.id in seen:
            report.events_duplicate += 1
            replayed[event.entity] = None
            continue
        seen.add(event.id)
        fresh.append(event)
    return fresh, list(replayed)


async def _evaluate_and_commit(
    events: list[Event],
    ruleset: CompiledRuleSet,
    states: StateStore,
    report: BatchReport,
    letters: list[DeadLetter],
) -> list[OutboxEntry]:
    """Evaluate in event order and commit each entity's state with the actions it planned.

    Entities with a stateful candidate are read once and written once (re-read and re-applied on an
    etag conflict); the rest are evaluated without state and their actions go to the outbox alone.
    """
    stateful = {e.entity for e in events if ruleset.needs_state(e)}
    by_entity: dict[str, list[Event]] = {}
    stateless_matches: list[RuleMatch] = []
    for event in events:
        if event.entity in stateful:
            by_entity.setdefault(event.entity, []).append(event)
        else:
            stateless_matches.extend(evaluate_safely(ruleset, event, None, letters))
    entries = await commit_entity_matches(
        states,
        by_entity,
        lambda state, entity_letters: _apply_events(ruleset, state, by_entity[state.entity], entity_letters),
        report,
        letters,
    )
    report.events_late += ruleset.take_late_count()
    stateless = outbox_entries(plan_and_letter(stateless_matches, letters))
    if stateless:
        await states.save_states([], outbox=stateless)
    count_matches(stateless_matches, report)
    report.actions_planned += len(stateless)
    return entries + stateless


def _apply_events(
    ruleset: CompiledRuleSet, state: EntityState, events: list[Event], letters: list[DeadLetter]
) -> list[RuleMatch]:
    """Apply one entity's events to its state, skipping those an earlier attempt already applied."""
    applied: dict[str, int] = state.data.setdefault(_APPLIED, {})
    before = dict(applied)
    matches: list[RuleMatch] = []
    for event in events:
        partition, sequence = event.partition, event.sequence_number
        if partition is not None and sequence is not None:
            if sequence <= before.get(partition, -1):
                continue  # committed by an earlier attempt of this batch
            applied[partition] = max(sequence, applied.get(partition, -1))
        matches.extend(evaluate_safely(ruleset, event, state, letters))
    return matches
