"""Timer trigger: every minute, fire the deadlines that fell due (absence rules), deliver what the
change feed left in the outbox (a destination was down, a process died), and report the backlog.

Both loop page after page within a budget, so they keep up with the rate deadlines fall due and
the backlog drains as fast as the destination takes it; the next run goes on where one stopped.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

from functions.dependencies import get_pipeline
from shared.pipeline import BatchRetryRequired, fire_due_deadlines, retry_pending_outbox
from shared.pipeline.report import BatchReport
from shared.telemetry import outbox_retry_span, record_backlog

bp = func.Blueprint()
log = logging.getLogger(__name__)

#: Seconds of each run spent on deadlines, then on the outbox (the schedule is one minute).
DEADLINE_BUDGET_S = 25.0
OUTBOX_BUDGET_S = 25.0


@bp.function_name("run_scheduled_work")
@bp.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=False, use_monitor=True)
async def run_scheduled_work(timer: func.TimerRequest) -> None:
    pipeline = await get_pipeline()
    now = datetime.now(UTC)
    deadlines = await fire_due_deadlines(pipeline.deps, now=now, budget_s=DEADLINE_BUDGET_S)
    with outbox_retry_span() as run:
        try:
            retried = await retry_pending_outbox(pipeline.deps, now=now, budget_s=OUTBOX_BUDGET_S)
        except BatchRetryRequired as down:  # the backlog waits for the next run; nothing else does
            retried = down.report or BatchReport()
            log.warning("outbox retry: destination down (%s)", down)
        run.record(retried)
    backlog, oldest = await pipeline.deps.states.outbox_backlog()
    age_s = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    record_backlog(backlog, age_s)
    if timer.past_due:
        log.info("scheduled work ran late (past due)")
    log.info(
        "deadlines fired=%d planned=%d; outbox retry delivered=%d failed=%d; backlog=%d oldest=%.0fs",
        deadlines.rule_matches, deadlines.actions_planned, retried.actions_delivered, retried.actions_failed,
        backlog, age_s,
    )  # fmt: skip
