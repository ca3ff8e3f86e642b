"""Timer trigger: every minute, fire due deadlines (absence rules) and deliver what crashed batches
left in the outbox."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

from functions.dependencies import get_pipeline
from shared.pipeline import fire_due_deadlines, retry_pending_outbox
from shared.telemetry import outbox_retry_span

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("run_scheduled_work")
@bp.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=False, use_monitor=True)
async def run_scheduled_work(timer: func.TimerRequest) -> None:
    pipeline = await get_pipeline()
    now = datetime.now(UTC)
    deadlines = await fire_due_deadlines(pipeline.deps, now=now)
    with outbox_retry_span() as run:
        retried = await retry_pending_outbox(pipeline.deps, now=now)
        run.record(retried)
    if timer.past_due:
        log.info("scheduled work ran late (past due)")
    log.info(
        "deadlines fired=%d delivered=%d; outbox retry delivered=%d failed=%d",
        deadlines.rule_matches, deadlines.actions_delivered, retried.actions_delivered, retried.actions_failed,
    )  # fmt: skip
