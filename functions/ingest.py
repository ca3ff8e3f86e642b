"""Event Hub trigger: turn a batch of EventHubEvents into RawEvents and process them.

Thin on purpose: all logic lives in ``shared.pipeline``. Only a whole-batch failure raises, and the
retry policy below then replays the batch (the trigger checkpoints once the function returns or
gives up, so replays must be — and are — safe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import azure.functions as func

from shared.events.models import RawEvent
from shared.pipeline import process_batch
from shared.settings import get_settings
from shared.telemetry import batch_span, configure_telemetry, log_ids, with_delivery_metrics
from shared.wiring import OpenPipeline, open_pipeline

bp = func.Blueprint()
log = logging.getLogger(__name__)

_pipeline: OpenPipeline | None = None
_pipeline_lock = asyncio.Lock()


async def get_pipeline() -> OpenPipeline:
    """One pipeline per worker process, opened on first use and reused across invocations."""
    global _pipeline
    async with _pipeline_lock:
        if _pipeline is None:
            configure_telemetry(get_settings())
            _pipeline = await open_pipeline(get_settings())
            _pipeline.deps = with_delivery_metrics(_pipeline.deps)
        return _pipeline


async def close_pipeline() -> None:
    """Close the cached pipeline (tests, or a host shutting down)."""
    global _pipeline
    if _pipeline is not None:
        await _pipeline.aclose()
        _pipeline = None


def to_raw_events(events: Sequence[func.EventHubEvent]) -> list[RawEvent]:
    """Copy body and provenance off each EventHubEvent.

    With cardinality=many every event shares one metadata mapping whose ``*Array`` entries are
    indexed by position; ``PartitionContext.PartitionId`` names the partition of the whole batch.
    """
    if not events:
        return []
    meta: Mapping[str, Any] = events[0].metadata or {}
    partition = _partition_id(meta)
    properties = meta.get("PropertiesArray") or []
    system_properties = meta.get("SystemPropertiesArray") or []
    raw: list[RawEvent] = []
    for index, event in enumerate(events):
        system = dict(
            _nth(system_properties, index) or (meta.get("SystemProperties") if len(events) == 1 else {}) or {}
        )
        for key, value in (event.iothub_metadata or {}).items():
            system.setdefault(f"iothub-{key}", value)
        raw.append(
            RawEvent(
                body=event.get_body(),
                partition=partition,
                partition_key=event.partition_key,
                sequence_number=event.sequence_number,
                offset=None if event.offset is None else str(event.offset),
                enqueued_time=event.enqueued_time,
                properties=dict(
                    _nth(properties, index) or (meta.get("Properties") if len(events) == 1 else {}) or {}
                ),
                system_properties=system,
            )
        )
    return raw


def _partition_id(meta: Mapping[str, Any]) -> str | None:
    context = meta.get("PartitionContext") or {}
    partition = context.get("PartitionId") if isinstance(context, Mapping) else None
    return None if partition is None else str(partition)


def _nth(items: Any, index: int) -> Mapping[str, Any] | None:
    if isinstance(items, list) and index < len(items) and isinstance(items[index], Mapping):
        return items[index]
    return None


@bp.function_name("process_usage_events")
@bp.retry(
    strategy="exponential_backoff",
    max_retry_count="-1",
    minimum_interval="00:00:05",
    maximum_interval="00:05:00",
)
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EVENTHUB",
    consumer_group="%EVENTHUB_CONSUMER_GROUP%",
    cardinality=func.Cardinality.MANY,
)
async def process_usage_events(events: list[func.EventHubEvent]) -> None:
    raw = to_raw_events(events)
    pipeline = await get_pipeline()
    with batch_span(raw) as batch:
        report = await process_batch(raw, pipeline.deps)
        batch.record(report)
    first_sequence = raw[0].sequence_number if raw else None
    log.info(
        "batch done: partition=%s first_sequence=%s events_in=%d normalized=%d dead_lettered=%d "
        "matches=%d delivered=%d failed=%d",
        batch.partition,
        first_sequence,
        report.events_in,
        report.events_normalized,
        report.events_dead_lettered,
        report.rule_matches,
        report.actions_delivered,
        report.actions_failed,
        extra=log_ids(partition=batch.partition, sequence_number=first_sequence),
    )
