"""Work that runs on a clock or on the outbox's change feed, not on an event: deadlines and delivery.

- ``fire_due_deadlines``: (absence) deadlines due by now, fired on time alone, a page of due
  entities after another until none is left (or the time budget ends): they fire at the rate they
  fall due, not a fixed number a minute. Their actions go to the outbox like a batch's; those of a
  suppressed entity are dropped (``deadlines_suppressed``) and its deadlines move on.
- ``relay_outbox``: deliver the entries the outbox's change feed brings (in Azure,
  ``functions/outbox_relay.py``), those no other deliverer holds.
- ``retry_pending_outbox``: the safety net (the timer; the local relay with no grace): entries older
  than the grace, those a relay left when a destination was down or a process died.

An entry has one deliverer at a time: the change feed takes it while it is young, the timer once it
is older than ``OUTBOX_GRACE`` and no deliverer has marked it in flight for that long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from shared.log_fields import entity_hash
from shared.pipeline.commit import commit_entity_matches
from shared.pipeline.deps import BatchRetryRequired, PipelineDeps
from shared.pipeline.ledger import BatchLedger, audit_shadowed
from shared.pipeline.outbox import Outbox
from shared.pipeline.report import BatchReport
from shared.rules import RuleMatch
from shared.store.models import EntityState, OutboxEntry

log = logging.getLogger(__name__)

#: An entry younger than this belongs to the change feed; a mark in flight younger than this, to the
#: deliverer that made it.
OUTBOX_GRACE = timedelta(minutes=2)
#: Due entities (or outbox entries) taken per store call.
PAGE = 500


async def fire_due_deadlines(
    deps: PipelineDeps, *, now: datetime, limit: int = PAGE, budget_s: float | None = None
) -> BatchReport:
    """Fire the deadlines due at ``now`` (absence rules: "A and no B within T") on time alone: pages
    of ``limit`` due entities until a page is not full, or ``budget_s`` seconds have passed (one
    page when ``budget_s`` is None). Each due entity is read, fired and committed once, its actions
    written to an outbox document of its own deadline."""
    ruleset = await deps.rules.current()
    started = time.monotonic()
    total = BatchReport()
    previous: list[str] = []

    def fire(state: EntityState, attempt: BatchLedger) -> list[RuleMatch]:
        matches = ruleset.fire_due(state, now)
        if matches and ruleset.suppressed and entity_hash(state.entity) in ruleset.suppressed:
            attempt.suppressed_deadlines(len(matches))
            return []
        return matches

    while True:
        due = await deps.states.due_entities(now, limit=limit)
        if due == previous:
            break  # nothing moved (every entity conflicted): the next run tries again
        previous = due
        async with _parked_afterwards(deps) as ledger:
            await commit_entity_matches(deps.states, due, fire, ledger, batch_of=_deadline_batch)
        total += ledger.report
        if len(due) < limit or budget_s is None or time.monotonic() - started >= budget_s:
            break
    if total.state_reads:
        log.info("deadlines: %d entities due, %d matches", total.state_reads, total.rule_matches)
    return total


def _deadline_batch(state: EntityState) -> str:
    """A fired deadline's outbox document: the same for a retried firing of the same deadline."""
    due = state.due_at.isoformat() if state.due_at else "none"
    return f"deadline:{state.entity}:{due}"


async def relay_outbox(
    deps: PipelineDeps, entries: Sequence[OutboxEntry], *, now: datetime, grace: timedelta = OUTBOX_GRACE
) -> BatchReport:
    """Deliver the entries a change feed brought that are still the feed's: younger than ``grace``
    and not marked in flight (older ones are the timer's)."""
    mine = [e for e in entries if e.sending_at is None and (e.created_at is None or e.created_at > now - grace)]
    try:
        async with _parked_afterwards(deps) as ledger:
            await Outbox.of(deps).deliver(mine, ledger)
    except BatchRetryRequired as retry:
        retry.report = ledger.report
        raise
    return ledger.report


async def retry_pending_outbox(
    deps: PipelineDeps,
    *,
    now: datetime,
    limit: int = PAGE,
    grace: timedelta = OUTBOX_GRACE,
    budget_s: float | None = None,
    uncertain_before: datetime | None = None,
) -> BatchReport:
    """Deliver outbox entries older than ``grace`` whose in-flight mark (if any) is older too: pages of
    ``limit`` until a page is not full or ``budget_s`` has passed (one page when None). A process that
    is the only deliverer (the local relay) passes ``timedelta(0)``, and ``uncertain_before``, its
    start: its own marks are not uncertain. ``BatchRetryRequired`` carries what was done."""
    started = time.monotonic()
    total = BatchReport()
    while True:
        pending = await deps.states.pending_outbox(limit=limit)
        stale = [e for e in pending if _stale(e, now - grace)]
        try:
            async with _parked_afterwards(deps) as ledger:
                await Outbox.of(deps).deliver(stale, ledger, uncertain_before=uncertain_before)
        except BatchRetryRequired as retry:
            total += ledger.report
            retry.report = total
            raise
        total += ledger.report
        if len(pending) < limit or not stale or budget_s is None or time.monotonic() - started >= budget_s:
            break
    if total.actions_recovered:
        log.info("outbox: %d taken, %d delivered, %d failed",
                 total.actions_recovered, total.actions_delivered, total.actions_failed)  # fmt: skip
    return total


def _stale(entry: OutboxEntry, cutoff: datetime) -> bool:
    created = entry.created_at is None or entry.created_at <= cutoff
    return created and (entry.sending_at is None or entry.sending_at <= cutoff)


@asynccontextmanager
async def _parked_afterwards(deps: PipelineDeps) -> AsyncIterator[BatchLedger]:
    """The ledger of this run; its dead letters are written to the dead-letter store however it ends,
    and the audit records of its shadow firings to the state store."""
    ledger = BatchLedger()
    try:
        yield ledger
    finally:
        await ledger.park(deps.deadletters, deps.dedupe, ttl_s=deps.dedupe_ttl_s)
        await audit_shadowed(ledger, deps.states, deps.audit)
