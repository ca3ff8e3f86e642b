"""The pipeline: one batch of raw events -> rules -> outbox and committed state; the outbox -> delivered.

    report = await process_batch(raw_events, deps)      # BatchReport; raises BatchRetryRequired
    await relay_outbox(deps, entries, now=now)          # the change feed: deliver what batches planned
    await fire_due_deadlines(deps, now=now)             # the timer: deadlines due by now
    await retry_pending_outbox(deps, now=now)           # the timer: what a relay left behind
    DryRun(ruleset, clock="event")                      # the same steps in memory, nothing sent

Inside: ``deps`` (what it is given, what it raises), ``report`` (BatchReport), ``ledger`` (the one
writer of the report and the dead letters), ``batch`` (process_batch), ``commit`` (evaluate, commit
state with its outbox), ``outbox`` (delivery, once), ``scheduled`` (the timer's work), ``dry_run``.
"""

from __future__ import annotations

from shared.pipeline.batch import process_batch
from shared.pipeline.deps import BatchRetryRequired, PipelineDeps, RuleSetSource
from shared.pipeline.dry_run import DryRun, DryRunReport, dry_run
from shared.pipeline.event_time import EventTimePolicy
from shared.pipeline.ledger import BatchLedger
from shared.pipeline.outbox import Outbox
from shared.pipeline.report import BatchReport
from shared.pipeline.scheduled import OUTBOX_GRACE, fire_due_deadlines, relay_outbox, retry_pending_outbox

__all__ = [
    "OUTBOX_GRACE",
    "BatchLedger",
    "BatchReport",
    "BatchRetryRequired",
    "DryRun",
    "DryRunReport",
    "EventTimePolicy",
    "Outbox",
    "PipelineDeps",
    "RuleSetSource",
    "dry_run",
    "fire_due_deadlines",
    "process_batch",
    "relay_outbox",
    "retry_pending_outbox",
]
