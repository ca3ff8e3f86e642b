"""Evaluate events and commit the actions they plan (the outbox, written first) with each entity's state.

The only broad per-event ``except Exception`` of the pipeline is ``evaluate_safely``: a bug in one
rule dead-letters that event and the batch goes on. An entity's events that an earlier attempt of
the same batch already applied are skipped (the applied-sequence replay guard: per partition, the
last sequence number applied to the entity, kept in its state), and so is an event id the entity
took among its last few events (a producer's retry: ``seen_recently``). A state the events left
unchanged is not written: cost follows what the rules do, not what arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from shared.actions.planning import plan_actions
from shared.events.models import Event
from shared.pipeline.ledger import BatchLedger
from shared.pipeline.outbox import outbox_entries
from shared.rules import CompiledRuleSet, RuleMatch, applied_sequences, seen_recently, state_meaning
from shared.store.models import EntityState, OutboxEntry
from shared.store.optimistic import commit_entity_updates
from shared.store.ports import StateStore


def evaluate_safely(
    ruleset: CompiledRuleSet, event: Event, state: EntityState | None, ledger: BatchLedger
) -> list[RuleMatch]:
    try:
        return ruleset.evaluate(event, state)
    except Exception as exc:  # the one broad catch: a bug in one rule must not sink the batch
        ledger.evaluation_failed(event, exc)
        return []


def plan_entries(matches: Sequence[RuleMatch], ledger: BatchLedger, *, batch: str) -> list[OutboxEntry]:
    """The outbox entries the matches plan; a match whose action cannot be rendered is dead-lettered.
    A shadow rule's match plans no entry: what it would send goes to the ledger (``shadow``)."""
    if matches and any(match.shadow for match in matches):
        ledger.shadow(plan_actions([match for match in matches if match.shadow]))
        matches = [match for match in matches if not match.shadow]
    planned = plan_actions(matches)
    ledger.unplannable(planned.failures)
    return outbox_entries(planned.actions, batch=batch)


MatchesFor = Callable[[EntityState, BatchLedger], list[RuleMatch]]
"""Mutates one entity's state and returns its matches; may run more than once (on a conflict)."""

BatchOf = Callable[[EntityState], str]
"""The outbox document an entity's entries go to (the batch's; a fired deadline's own)."""


async def commit_entity_matches(
    states: StateStore,
    entities: Iterable[str],
    matches_for: MatchesFor,
    ledger: BatchLedger,
    *,
    batch_of: BatchOf,
    outbox: Sequence[OutboxEntry] = (),
) -> list[OutboxEntry]:
    """Per entity: read the state once, apply ``matches_for``, write the actions its matches plan
    to the outbox (with ``outbox``, a batch's stateless entries) and then commit the state. On an
    etag conflict the entity is re-read and re-applied; only the last attempt's matches and
    letters count. A state left unchanged is not written."""
    wanted = list(entities)
    if not wanted and not outbox:
        return []
    outcome: dict[str, tuple[list[RuleMatch], list[OutboxEntry], BatchLedger]] = {}

    def apply(state: EntityState) -> list[OutboxEntry]:
        attempt = BatchLedger()
        matches = matches_for(state, attempt)
        entries = plan_entries(matches, attempt, batch=batch_of(state))
        outcome[state.entity] = (matches, entries, attempt)  # the last attempt wins
        return entries

    committed = await commit_entity_updates(states, wanted, apply, outbox=outbox, meaning=state_meaning)
    ledger.committed(read=len(wanted), written=len(committed))
    entries: list[OutboxEntry] = []
    for matches, entity_entries, attempt in outcome.values():
        ledger.matched(matches)
        entries.extend(entity_entries)
        ledger.absorb(attempt)
    ledger.planned(len(entries))
    ledger.pending(len(entries))  # handed to the outbox: the relay delivers them
    return entries


async def evaluate_and_commit(
    events: list[Event], ruleset: CompiledRuleSet, states: StateStore, ledger: BatchLedger, *, batch: str
) -> list[OutboxEntry]:
    """Evaluate in event order; write the batch's actions to its outbox document, then the states.

    Entities with a stateful candidate are read once and written once when their state changed
    (re-read and re-applied on an etag conflict); the rest are evaluated without state, and their
    actions go to the outbox with the first write.
    """
    stateful = {e.entity for e in events if ruleset.needs_state(e)}
    by_entity: dict[str, list[Event]] = {}
    stateless_matches: list[RuleMatch] = []
    for event in events:
        if event.entity in stateful:
            by_entity.setdefault(event.entity, []).append(event)
        else:
            stateless_matches.extend(evaluate_safely(ruleset, event, None, ledger))
    stateless = plan_entries(stateless_matches, ledger, batch=batch)
    ledger.matched(stateless_matches)
    ledger.planned(len(stateless))
    ledger.pending(len(stateless))

    def matches_for(state: EntityState, attempt: BatchLedger) -> list[RuleMatch]:
        return _apply_events(ruleset, state, by_entity[state.entity], attempt)

    entries = await commit_entity_matches(
        states, by_entity, matches_for, ledger, batch_of=lambda _: batch, outbox=stateless
    )
    ledger.late(ruleset.take_late_count())
    return stateless + entries


def _apply_events(
    ruleset: CompiledRuleSet, state: EntityState, events: list[Event], ledger: BatchLedger
) -> list[RuleMatch]:
    """Apply one entity's events to its state, skipping those an earlier attempt already applied
    and ids the entity took lately (a producer's retried event)."""
    applied = applied_sequences(state)
    before = dict(applied)
    matches: list[RuleMatch] = []
    for event in events:
        partition, sequence = event.partition, event.sequence_number
        if partition is not None and sequence is not None:
            if sequence <= before.get(partition, -1):
                continue  # committed by an earlier attempt of this batch
            applied[partition] = max(sequence, applied.get(partition, -1))
        if seen_recently(state, event.id):
            ledger.duplicates(1)
            continue
        matches.extend(evaluate_safely(ruleset, event, state, ledger))
    return matches
