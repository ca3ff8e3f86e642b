"""Work that runs on a clock, not on an event: outbox retries and (absence) deadlines.

``functions/timers.py`` calls these every minute; the local runtime calls them on its own clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.batch_report import BatchReport
from shared.outbox_delivery import deliver_outbox
from shared.pipeline import PipelineDeps
from shared.store.models import DeadLetter

log = logging.getLogger(__name__)

#: An entry younger than this may still be in flight in the batch that committed it.
OUTBOX_GRACE = timedelta(minutes=2)


async def retry_pending_outbox(deps: PipelineDeps, *, now: datetime, limit: int = 500) -> BatchReport:
    """Deliver outbox entries that a crashed or failed batch left behind."""
    report = BatchReport()
    letters: list[DeadLetter] = []
    pending = await deps.states.pending_outbox(limit=limit)
    stale = [e for e in pending if e.created_at is None or e.created_at <= now - OUTBOX_GRACE]
    try:
        await deliver_outbox(stale, deps.sender, deps.states, deps.dedupe, report, letters, deps.dedupe_ttl_s)
    finally:
        for letter in letters:
            report.count_reason(letter.reason)
            report.actions_dead_lettered += letter.kind == "action"
        if letters:
            await deps.deadletters.write(letters)
    if stale:
        log.info(
            "outbox retry: %d pending, %d delivered, %d failed",
            len(stale),
            report.actions_delivered,
            report.actions_failed,
        )
    return report
