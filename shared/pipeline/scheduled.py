"""Work that runs on a clock, not on an event: (absence) deadlines and outbox retries.

``functions/timers.py`` calls these every minute; the local runtime calls them on its own clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from shared.pipeline.commit import commit_entity_matches
from shared.pipeline.deps import PipelineDeps
from shared.pipeline.ledger import BatchLedger
from shared.pipeline.outbox import Outbox
from shared.pipeline.report import BatchReport

log = logging.getLogger(__name__)

#: An entry younger than this may still be in flight in the batch that committed it.
OUTBOX_GRACE = timedelta(minutes=2)


async def fire_due_deadlines(deps: PipelineDeps, *, now: datetime, limit: int = 500) -> BatchReport:
    """Fire the deadlines due at ``now`` (absence rules: "A and no B within T") on time alone:
    no later event is needed. Each due entity is read, fired and committed with its outbox once."""
    ruleset = await deps.rules.current()
    due = await deps.states.due_entities(now, limit=limit)
    async with _parked_afterwards(deps) as ledger:
        entries = await commit_entity_matches(deps.states, due, lambda state, _: ruleset.fire_due(state, now), ledger)
        await Outbox.of(deps).deliver(entries, ledger)
    report = ledger.report
    if due:
        log.info("deadlines: %d entities due, %d matches, %d delivered",
                 len(due), report.rule_matches, report.actions_delivered)  # fmt: skip
    return report


async def retry_pending_outbox(
    deps: PipelineDeps, *, now: datetime, limit: int = 500, grace: timedelta = OUTBOX_GRACE
) -> BatchReport:
    """Deliver outbox entries that a crashed or failed batch left behind (older than ``grace``: a
    younger one may still be in flight in the batch that committed it; a process that runs no batch
    concurrently, like the local runtime at start, passes ``timedelta(0)``)."""
    pending = await deps.states.pending_outbox(limit=limit)
    stale = [e for e in pending if e.created_at is None or e.created_at <= now - grace]
    async with _parked_afterwards(deps) as ledger:
        await Outbox.of(deps).deliver(stale, ledger)
    report = ledger.report
    if stale:
        log.info("outbox retry: %d pending, %d delivered, %d failed",
                 len(stale), report.actions_delivered, report.actions_failed)  # fmt: skip
    return report


@asynccontextmanager
async def _parked_afterwards(deps: PipelineDeps) -> AsyncIterator[BatchLedger]:
    """The ledger of this run; its dead letters are written to the dead-letter store however it ends."""
    ledger = BatchLedger()
    try:
        yield ledger
    finally:
        await ledger.park(deps.deadletters, deps.dedupe, ttl_s=deps.dedupe_ttl_s)
