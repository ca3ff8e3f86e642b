"""Event Hub trigger: turn a batch of EventHubEvents into RawEvents and process them.

Thin on purpose: all logic lives in ``shared.pipeline``. Only a whole-batch failure raises, and the
retry policy below then replays the batch (the trigger checkpoints once the function returns or
gives up, so replays must be — and are — safe).
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import azure.functions as func

from functions.dependencies import get_pipeline
from shared.events.models import RawEvent
from shared.pipeline import process_batch
from shared.telemetry import batch_span, log_ids

bp = func.Blueprint()
log = logging.getLogger(__name__)


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
    # BINARY: the host hands each body over as bytes. Without a dataType the host JSON-parses every
    # body of a MANY batch first, so one non-JSON body fails the whole batch (and, with unlimited
    # retries, forever); the normalizer dead-letters such a body instead. Not STRING: the host drops
    # empty strings, and the bodies would no longer line up with the metadata arrays.
    data_type=func.DataType.BINARY,
)
async def process_usage_events(
    # typing.List, not list[...]: the worker accepts a class or a typing generic as a binding
    # annotation and refuses the builtin generic (FunctionLoadError), which un-indexes every function.
    events: typing.List[func.EventHubEvent],  # noqa: UP006
) -> None:
    raw = to_raw_events(events)
    pipeline = await get_pipeline()
    with batch_span(raw) as batch:
        report = await process_batch(raw, pipeline.deps)
        batch.record(report)
    first_sequence = raw[0].sequence_number if raw else None
    log.info(
        "batch done: partition=%s first_sequence=%s events_in=%d normalized=%d dead_lettered=%d "
        "matches=%d planned=%d duplicates=%d",
        batch.partition,
        first_sequence,
        report.events_in,
        report.events_normalized,
        report.events_dead_lettered,
        report.rule_matches,
        report.actions_planned,
        report.events_duplicate,
        extra=log_ids(partition=batch.partition, sequence_number=first_sequence),
    )
