"""Work that runs on a clock, not on an event: (absence) deadlines and outbox retries.

``functions/timers.py`` calls these every minute; the local runtime calls them on its own clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.batch_report import BatchReport
from shared.outbox_delivery import commit_entity_matches, deliver_outbox, write_dead_letters
from shared.pipeline import PipelineDeps
from shared.store.models import DeadLetter

log = logging.getLogger(__name__)

#: An entry younger than this may still be in flight in the batch that committed it.
OUTBOX_GRACE = timedelta(minutes=2)


async def fire_due_deadlines(deps: PipelineDeps, *, now: datetime, limit: int = 500) -> BatchReport:
    """Fire the deadlines due at ``now`` (absence rules: "A and no B within T") on time alone:
    no later event is needed. Each due entity is read, fired and committed with its outbox once."""
    report = BatchReport()
    letters: list[DeadLetter] = []
    ruleset = await deps.rules.current()
    due = await deps.states.due_entities(now, limit=limit)
    try:
        entries = await commit_entity_matches(
            deps.states, due, lambda state, _letters: ruleset.fire_due(state, now), report, letters
        )
        await deliver_outbox(entries, deps.sender, deps.states, deps.dedupe, report, letters, deps.dedupe_ttl_s)
    finally:
        await write_dead_letters(letters, deps.deadletters, report)
    if due:
        log.info(
            "deadlines: %d entities due, %d matches, %d delivered",
            len(due),
            report.rule_matches,
            report.actions_delivered,
        )
    return report


async def retry_pending_outbox(deps: PipelineDeps, *, now: datetime, limit: int = 500) -> BatchReport:
    """Deliver outbox entries that a crashed or failed batch left behind."""
    report = BatchReport()
    letters: list[DeadLetter] = []
    pending = await deps.states.pending_outbox(limit=limit)
    stale = [e for e in pending if e.created_at is None or e.created_at <= now - OUTBOX_GRACE]
    try:
        await deliver_outbox(stale, deps.sender, deps.states, deps.dedupe, report, letters, deps.dedupe_ttl_s)
    finally:
        await write_dead_letters(letters, deps.deadletters, report)
    if stale:
        log.info(
            "outbox retry: %d pending, %d delivered, %d failed",
            len(stale),
            report.actions_delivered,
            report.actions_failed,
        )
    return report
