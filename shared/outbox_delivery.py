"""The pipeline's last steps: evaluate safely, plan into outbox entries, deliver them, book-keep.

Shared by ``process_batch`` and the timer that fires deadlines and retries the outbox.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from shared.actions.errors import DestinationUnavailable
from shared.actions.models import ActionKind, DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.planning import plan_actions
from shared.actions.ports import ActionSender
from shared.batch_report import BatchReport
from shared.events.models import Event
from shared.rules import CompiledRuleSet, RuleMatch
from shared.store.models import DeadLetter, EntityState, OutboxEntry
from shared.store.optimistic import commit_entity_updates
from shared.store.ports import DeadLetterSink, DedupeStore, StateStore
from shared.telemetry.log_fields import log_ids

log = logging.getLogger(__name__)

EVENT_KEY_PREFIX = "event:"
ACTION_KEY_PREFIX = "action:"


class BatchRetryRequired(Exception):
    """A destination is down for everyone: the batch must be replayed (the host's retry policy does).

    What was delivered before is already recorded, so the replay sends only the rest. ``report``
    holds this attempt's counts; ``retry_after`` the destination's hint in seconds.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.report: BatchReport | None = None


def evaluate_safely(
    ruleset: CompiledRuleSet, event: Event, state: EntityState | None, letters: list[DeadLetter]
) -> list[RuleMatch]:
    try:
        return ruleset.evaluate(event, state)
    except Exception as exc:  # the one broad catch: a bug in one rule must not sink the batch
        log.exception(
            "rule evaluation failed for event %s", event.id,
            extra=log_ids(event_id=event.id, partition=event.partition, sequence_number=event.sequence_number),
        )  # fmt: skip
        letters.append(
            DeadLetter(
                kind="event", reason=f"rule evaluation failed: {type(exc).__name__}",
                payload=event.model_dump_json().encode(), partition=event.partition,
                sequence_number=event.sequence_number, enqueued_time=event.enqueued_time, event_id=event.id,
            )
        )  # fmt: skip
        return []


def plan_and_letter(matches: Sequence[RuleMatch], letters: list[DeadLetter]) -> list[PlannedAction]:
    """Plan actions; a match whose action cannot be rendered is dead-lettered with the reason."""
    planned = plan_actions(matches)
    for failure in planned.failures:
        event = failure.match.event
        letters.append(
            DeadLetter(
                kind="action", reason=failure.reason, payload=event.model_dump_json().encode(),
                partition=event.partition, sequence_number=event.sequence_number, event_id=event.id,
                rule_id=failure.match.rule_id,
            )
        )  # fmt: skip
    return planned.actions


MatchesFor = Callable[[EntityState, list[DeadLetter]], list[RuleMatch]]
"""Mutates one entity's state and returns its matches; may run more than once (on a conflict)."""


async def commit_entity_matches(
    states: StateStore,
    entities: Iterable[str],
    matches_for: MatchesFor,
    report: BatchReport,
    letters: list[DeadLetter],
) -> list[OutboxEntry]:
    """Per entity: read the state once, apply ``matches_for``, commit the state with the actions its
    matches plan (the outbox). On an etag conflict the entity is re-read and re-applied."""
    wanted = list(entities)
    if not wanted:
        return []
    outcome: dict[str, tuple[list[RuleMatch], list[OutboxEntry], list[DeadLetter]]] = {}

    def apply(state: EntityState) -> list[OutboxEntry]:
        entity_letters: list[DeadLetter] = []
        matches = matches_for(state, entity_letters)
        entries = outbox_entries(plan_and_letter(matches, entity_letters))
        outcome[state.entity] = (matches, entries, entity_letters)  # the last attempt wins
        return entries

    committed = await commit_entity_updates(states, wanted, apply)
    report.state_reads += len(wanted)
    report.state_writes += len(committed)
    entries: list[OutboxEntry] = []
    for matches, entity_entries, entity_letters in outcome.values():
        count_matches(matches, report)
        entries.extend(entity_entries)
        letters.extend(entity_letters)
    report.actions_planned += len(entries)
    return entries


async def write_dead_letters(letters: list[DeadLetter], sink: DeadLetterSink, report: BatchReport) -> None:
    """Park the letters and count their reasons in the report."""
    for letter in letters:
        report.count_reason(letter.reason)
        report.actions_dead_lettered += letter.kind == "action"
    if letters:
        await sink.write(letters)


def count_matches(matches: Iterable[RuleMatch], report: BatchReport) -> None:
    for match in matches:
        report.rule_matches += 1
        report.matches_by_rule[match.rule_id] = report.matches_by_rule.get(match.rule_id, 0) + 1


def outbox_entries(actions: Iterable[PlannedAction]) -> list[OutboxEntry]:
    return [OutboxEntry(entity=a.entity, key=a.key, action=action_to_json(a)) for a in actions]


def action_to_json(action: PlannedAction) -> dict[str, Any]:
    data = dataclasses.asdict(action)
    data["kind"] = str(action.kind)
    return data


def action_from_json(data: dict[str, Any]) -> PlannedAction:
    known = {f.name for f in dataclasses.fields(PlannedAction)}
    values = {k: v for k, v in data.items() if k in known}
    values["kind"] = ActionKind(values["kind"])
    return PlannedAction(**values)


async def deliver_outbox(
    entries: Sequence[OutboxEntry],
    sender: ActionSender,
    states: StateStore,
    dedupe: DedupeStore,
    report: BatchReport,
    letters: list[DeadLetter],
    ttl_s: int,
    *,
    chunk: int = 64,
) -> None:
    """Deliver entries not delivered before, a chunk at a time; remember and complete what settles.

    Raises ``BatchRetryRequired`` when the destination is down for everyone, after recording what
    did get through.
    """
    unique = list({e.key: e for e in entries}.values())
    if not unique:
        return
    done_before = await dedupe.seen(ACTION_KEY_PREFIX + e.key for e in unique)
    settled = [e for e in unique if ACTION_KEY_PREFIX + e.key in done_before]
    report.actions_skipped_duplicate += len(settled)
    todo = [e for e in unique if ACTION_KEY_PREFIX + e.key not in done_before]
    await states.complete_outbox(settled)
    for start in range(0, len(todo), chunk):
        await _deliver_chunk(todo[start : start + chunk], sender, states, dedupe, report, letters, ttl_s)


async def _deliver_chunk(
    entries: list[OutboxEntry],
    sender: ActionSender,
    states: StateStore,
    dedupe: DedupeStore,
    report: BatchReport,
    letters: list[DeadLetter],
    ttl_s: int,
) -> None:
    """One chunk: delivered keys are recorded before the next chunk starts, so a crash re-sends at
    most the chunk in flight."""
    todo = {e.key: e for e in entries}
    failure: DestinationUnavailable | None = None
    try:
        outcomes = await sender.deliver([action_from_json(e.action) for e in entries])
    except DestinationUnavailable as exc:
        failure = exc
        outcomes = list(getattr(exc, "outcomes", ()))
    # When the destination is down for everyone, retryable failures stay in the outbox for the replay.
    settled = await _record(outcomes, todo, dedupe, report, letters, ttl_s, keep_retryable=failure is not None)
    await states.complete_outbox(settled)
    if failure is not None:
        raise BatchRetryRequired(str(failure), retry_after=failure.retry_after) from failure


async def _record(
    outcomes: Sequence[DeliveryOutcome],
    todo: dict[str, OutboxEntry],
    dedupe: DedupeStore,
    report: BatchReport,
    letters: list[DeadLetter],
    ttl_s: int,
    *,
    keep_retryable: bool = False,
) -> list[OutboxEntry]:
    delivered = [o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED]
    await dedupe.remember([ACTION_KEY_PREFIX + key for key in delivered], ttl_s=ttl_s)
    report.actions_delivered += len(delivered)
    settled = [todo[key] for key in delivered if key in todo]
    for outcome in outcomes:
        if outcome.status is DeliveryStatus.FAILED and not (keep_retryable and outcome.retryable):
            report.actions_failed += 1
            letters.append(_failed_action_letter(outcome))
            if outcome.action.key in todo:
                settled.append(todo[outcome.action.key])
    return settled


def _failed_action_letter(outcome: DeliveryOutcome) -> DeadLetter:
    action = outcome.action
    return DeadLetter(
        kind="action", reason=outcome.reason or "delivery failed",
        payload=json.dumps(action_to_json(action), default=str).encode(),
        event_id=action.event_id, rule_id=action.rule_id, action_key=action.key, attempts=outcome.attempts,
    )  # fmt: skip
