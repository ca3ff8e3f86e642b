"""Work that runs on a clock, not on an event: (absence) deadlines and outbox retries.

``functions/timers.py`` calls these every minute; the local runtime calls them on its own clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from shared.batch_report import BatchReport
from shared.outbox_delivery import commit_entity_matches, deliver_outbox, write_dead_letters
from shared.pipeline import PipelineDeps
from shared.store.models import DeadLetter, OutboxEntry

log = logging.getLogger(__name__)

#: An entry younger than this may still be in flight in the batch that committed it.
OUTBOX_GRACE = timedelta(minutes=2)


async def fire_due_deadlines(deps: PipelineDeps, *, now: datetime, limit: int = 500) -> BatchReport:
    """Fire the deadlines due at ``now`` (absence rules: "A and no B within T") on time alone:
    no later event is needed. Each due entity is read, fired and committed with its outbox once."""
    report = BatchReport()
    ruleset = await deps.rules.current()
    due = await deps.states.due_entities(now, limit=limit)
    async with _parked_afterwards(deps, report) as letters:
        entries = await commit_entity_matches(
            deps.states, due, lambda state, _letters: ruleset.fire_due(state, now), report, letters
        )
        await _deliver(entries, deps, report, letters)
    if due:
        log.info("deadlines: %d entities due, %d matches, %d delivered",
                 len(due), report.rule_matches, report.actions_delivered)  # fmt: skip
    return report


async def retry_pending_outbox(deps: PipelineDeps, *, now: datetime, limit: int = 500) -> BatchReport:
    """Deliver outbox entries that a crashed or failed batch left behind."""
    report = BatchReport()
    pending = await deps.states.pending_outbox(limit=limit)
    stale = [e for e in pending if e.created_at is None or e.created_at <= now - OUTBOX_GRACE]
    async with _parked_afterwards(deps, report) as letters:
        await _deliver(stale, deps, report, letters)
    if stale:
        log.info("outbox retry: %d pending, %d delivered, %d failed",
                 len(stale), report.actions_delivered, report.actions_failed)  # fmt: skip
    return report


@asynccontextmanager
async def _parked_afterwards(deps: PipelineDeps, report: BatchReport) -> AsyncIterator[list[DeadLetter]]:
    """A list for the dead letters of this run, written to the dead-letter store however it ends."""
    letters: list[DeadLetter] = []
    try:
        yield letters
    finally:
        await write_dead_letters(letters, deps.deadletters, report)


async def _deliver(
    entries: list[OutboxEntry], deps: PipelineDeps, report: BatchReport, letters: list[DeadLetter]
) -> None:
    await deliver_outbox(entries, deps.sender, deps.states, deps.dedupe, report, letters, deps.dedupe_ttl_s)
