"""process_batch: the one orchestration of normalize -> de-duplicate -> rules -> actions -> deliver.

Errors are data at this boundary: every event is processed or dead-lettered with its reason, and
the BatchReport says which. Only a failure of the whole batch (a store or destination that is down
for everyone) raises, so the Functions retry policy replays the batch; replays are safe because
event ids and action idempotency keys are remembered.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.actions.models import DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.planning import plan_actions
from shared.actions.ports import ActionSender
from shared.batch_report import BatchReport
from shared.events import NormalizeOptions, normalize_raw_event
from shared.events.models import Event, RawEvent
from shared.rules import CompiledRuleSet, RuleMatch
from shared.store.errors import ConcurrencyConflict
from shared.store.models import DeadLetter, EntityState
from shared.store.ports import DeadLetterSink, DedupeStore, StateStore

log = logging.getLogger(__name__)

_EVENT_KEY = "event:"
_ACTION_KEY = "action:"
_STATE_ATTEMPTS = 3


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


async def process_batch(raw_events: Sequence[RawEvent], deps: PipelineDeps) -> BatchReport:
    started = time.perf_counter()
    report = BatchReport()
    letters: list[DeadLetter] = []

    events = _normalize(raw_events, deps.normalize_options, report, letters)
    events = await _drop_duplicates(events, deps.dedupe, report)
    ruleset = await deps.rules.current()
    matches = await _evaluate_with_state(events, ruleset, deps.states, report, letters)

    planned = plan_actions(matches)
    for failure in planned.failures:
        letters.append(_action_letter_from_match(failure.match, failure.reason))
        report.count_reason(failure.reason)
    report.actions_dead_lettered += len(planned.failures)
    await _deliver(planned.actions, deps, report, letters)

    if letters:
        await deps.deadletters.write(letters)
    await deps.dedupe.remember([_EVENT_KEY + e.id for e in events], ttl_s=deps.dedupe_ttl_s)
    report.elapsed_s = time.perf_counter() - started
    return report


def _normalize(
    raw_events: Sequence[RawEvent], options: NormalizeOptions, report: BatchReport, letters: list[DeadLetter]
) -> list[Event]:
    events: list[Event] = []
    for raw in raw_events:
        result = normalize_raw_event(raw, options)
        events.extend(result.events)
        for rejection in result.rejections:
            letters.append(_event_letter(raw, rejection.reason, rejection.payload))
            report.count_reason(rejection.reason)
            log.warning(
                "event dead-lettered: %s (partition=%s sequence=%s index=%s)",
                rejection.reason,
                raw.partition,
                raw.sequence_number,
                rejection.index,
            )
        report.events_in += len(result.events) + len(result.rejections)
        report.events_normalized += len(result.events)
        report.events_dead_lettered += len(result.rejections)
    return events


async def _drop_duplicates(events: list[Event], dedupe: DedupeStore, report: BatchReport) -> list[Event]:
    """Events whose id was processed before (a replayed batch, a producer retry) are skipped."""
    if not events:
        return events
    seen = {key[len(_EVENT_KEY) :] for key in await dedupe.seen(_EVENT_KEY + e.id for e in events)}
    fresh: list[Event] = []
    for event in events:
        if event.id in seen:
            report.events_duplicate += 1
            continue
        seen.add(event.id)
        fresh.append(event)
    return fresh


async def _evaluate_with_state(
    events: list[Event],
    ruleset: CompiledRuleSet,
    states: StateStore,
    report: BatchReport,
    letters: list[DeadLetter],
) -> list[RuleMatch]:
    """Evaluate in event order; state is read once per entity that needs it and written once.

    On an etag conflict (another instance wrote the entity meanwhile) the states are re-read and
    the batch re-evaluated, so no update is lost.
    """
    needing = {e.entity for e in events if ruleset.needs_state(e)}
    for attempt in range(1, _STATE_ATTEMPTS + 1):
        loaded = await states.load_states(needing) if needing else {}
        report.state_reads += len(needing)
        working = {entity: loaded.get(entity) or EntityState(entity=entity) for entity in needing}
        attempt_letters: list[DeadLetter] = []
        matches = _evaluate_all(events, ruleset, working, attempt_letters, report)
        try:
            if working:
                await states.save_states(list(working.values()))
        except ConcurrencyConflict as conflict:
            if attempt == _STATE_ATTEMPTS:
                raise
            log.info("state of %s changed concurrently; re-reading (attempt %d)", conflict.entity, attempt)
            continue
        report.state_writes += len(working)
        letters.extend(attempt_letters)
        report.rule_matches += len(matches)
        for match in matches:
            report.matches_by_rule[match.rule_id] = report.matches_by_rule.get(match.rule_id, 0) + 1
        return matches
    raise AssertionError("unreachable")  # pragma: no cover


def _evaluate_all(
    events: list[Event],
    ruleset: CompiledRuleSet,
    working: dict[str, EntityState],
    letters: list[DeadLetter],
    report: BatchReport,
) -> list[RuleMatch]:
    matches: list[RuleMatch] = []
    for event in events:
        try:
            matches.extend(ruleset.evaluate(event, working.get(event.entity)))
        except Exception as exc:  # the one broad catch: a bug must not sink the batch
            reason = f"rule evaluation failed: {type(exc).__name__}"
            log.exception("rule evaluation failed for event %s", event.id)
            letters.append(_event_letter_from_event(event, reason))
            report.count_reason(reason)
    return matches


async def _deliver(
    actions: list[PlannedAction], deps: PipelineDeps, report: BatchReport, letters: list[DeadLetter]
) -> None:
    report.actions_planned += len(actions)
    if not actions:
        return
    delivered_before = await deps.dedupe.seen(_ACTION_KEY + a.key for a in actions)
    todo = [a for a in actions if _ACTION_KEY + a.key not in delivered_before]
    report.actions_skipped_duplicate += len(actions) - len(todo)
    outcomes: list[DeliveryOutcome] = await deps.sender.deliver(todo) if todo else []
    delivered = [o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED]
    await deps.dedupe.remember([_ACTION_KEY + key for key in delivered], ttl_s=deps.dedupe_ttl_s)
    report.actions_delivered += len(delivered)
    for outcome in outcomes:
        if outcome.status is DeliveryStatus.FAILED:
            reason = outcome.reason or "delivery failed"
            letters.append(_action_letter(outcome.action, reason, attempts=outcome.attempts))
            report.count_reason(reason)
            report.actions_failed += 1
            report.actions_dead_lettered += 1


def _event_letter(raw: RawEvent, reason: str, payload: bytes) -> DeadLetter:
    return DeadLetter(
        kind="event",
        reason=reason,
        payload=payload,
        partition=raw.partition,
        sequence_number=raw.sequence_number,
        offset=raw.offset,
        enqueued_time=raw.enqueued_time,
    )


def _event_letter_from_event(event: Event, reason: str) -> DeadLetter:
    return DeadLetter(
        kind="event",
        reason=reason,
        payload=event.model_dump_json().encode(),
        partition=event.partition,
        sequence_number=event.sequence_number,
        enqueued_time=event.enqueued_time,
        event_id=event.id,
    )


def _action_letter(action: PlannedAction, reason: str, *, attempts: int) -> DeadLetter:
    payload = {
        "kind": str(action.kind),
        "destination": action.destination,
        "contact_key": action.contact_key,
        "event_definition_key": action.event_definition_key,
        "data": action.data,
    }
    return DeadLetter(
        kind="action",
        reason=reason,
        payload=json.dumps(payload, default=str).encode(),
        event_id=action.event_id,
        rule_id=action.rule_id,
        action_key=action.key,
        attempts=attempts,
    )


def _action_letter_from_match(match: RuleMatch, reason: str) -> DeadLetter:
    event = match.event
    return DeadLetter(
        kind="action",
        reason=reason,
        payload=event.model_dump_json().encode(),
        partition=event.partition,
        sequence_number=event.sequence_number,
        event_id=event.id,
        rule_id=match.rule_id,
    )
