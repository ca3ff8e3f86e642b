"""Cosmos DB trigger: the outbox container's change feed delivers what the batches planned.

Microsoft's transactional-outbox pattern: the Event Hubs function only writes outbox documents (one
per batch) and returns; this function receives each new or changed document from the change feed
(leases in ``COSMOS_LEASES_CONTAINER``) and delivers the entries still its own (young, not in
flight). It never raises for a destination that is down: the entries stay in the outbox (the
backlog grows, ``outbox_backlog_age_s`` says how old it is) and the timer takes them once they are
older than the grace, so neither the change feed nor ingestion ever stalls on a destination.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from functions.dependencies import get_pipeline
from shared.pipeline import BatchReport, BatchRetryRequired, relay_outbox
from shared.store import outbox_docs
from shared.store.models import OutboxEntry
from shared.telemetry import outbox_relay_span

bp = func.Blueprint()
log = logging.getLogger(__name__)


def pending_entries(documents: Iterable[Mapping[str, Any]]) -> list[OutboxEntry]:
    """The pending entries of the changed outbox documents (tombstones and other items have none)."""
    entries: list[OutboxEntry] = []
    for document in documents:
        if document.get("type") == "outbox" and isinstance(document.get("entries"), list):
            entries += outbox_docs.pending(dict(document))
    return entries


@bp.function_name("deliver_outbox")
@bp.cosmos_db_trigger(
    arg_name="documents",
    connection="COSMOS",
    database_name="%COSMOS_DATABASE%",
    container_name="%COSMOS_OUTBOX_CONTAINER%",
    lease_container_name="%COSMOS_LEASES_CONTAINER%",
    create_lease_container_if_not_exists=False,
    max_items_per_invocation=100,
)
async def deliver_outbox(documents: func.DocumentList) -> None:
    entries = pending_entries(document.to_dict() for document in documents)
    if not entries:
        return
    pipeline = await get_pipeline()
    with outbox_relay_span() as run:
        try:
            report = await relay_outbox(pipeline.deps, entries, now=datetime.now(UTC))
        except BatchRetryRequired as down:  # the timer takes what is left; the feed moves on
            run.record(down.report or BatchReport())
            log.warning("outbox relay: destination down (%s); %d entries wait for the timer", down, len(entries))
            return
        run.record(report)
    log.info(
        "outbox relay: %d entries, %d delivered, %d failed, %d left",
        len(entries), report.actions_delivered, report.actions_failed, report.actions_pending,
    )  # fmt: skip
