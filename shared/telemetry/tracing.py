"""Spans around a batch (and the outbox timer), with the metrics of what they did.

``batch_span(raw_events)`` opens a CONSUMER span (Application Insights: a request) named
``squall.process_batch`` with the partition, first/last sequence number and batch size, and puts
the partition on every log record inside it. ``observation.record(report)`` adds the report's
counts to the span and to the metrics, and the partition's lag (``squall.ingest.lag``: now minus
the newest enqueued time of the batch — how far behind the hub the consumer is); a failed batch
whose exception carries its ``report`` (``BatchRetryRequired``) is recorded on the way out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from opentelemetry.trace import Span, SpanKind

from shared.events.models import RawEvent
from shared.log_fields import batch_log_fields
from shared.pipeline.report import BatchReport
from shared.telemetry import names
from shared.telemetry.instruments import current_instruments


class BatchObservation:
    """What one span observed; ``record`` once the batch has its report."""

    def __init__(
        self, span: Span, *, partition: str | None, trigger: str, newest_enqueued: datetime | None = None
    ) -> None:
        self.span = span
        self.partition = partition
        self.trigger = trigger
        self.recorded = False
        self._newest_enqueued = newest_enqueued
        self._started = time.perf_counter()

    def record(self, report: BatchReport) -> None:
        """Metrics and span attributes from ``report`` (once; later calls are ignored)."""
        if self.recorded:
            return
        self.recorded = True
        duration_s = time.perf_counter() - self._started
        metrics = current_instruments().metrics
        metrics.record_batch(report, partition=self.partition, duration_s=duration_s, trigger=self.trigger)
        if self._newest_enqueued is not None:
            lag_s = (datetime.now(UTC) - self._newest_enqueued).total_seconds()
            metrics.record_lag(lag_s, partition=self.partition)
        if self.span.is_recording():
            self.span.set_attributes(_report_attributes(report))

    def record_failure(self, exc: BaseException) -> None:
        report = getattr(exc, "report", None)
        if isinstance(report, BatchReport):
            self.record(report)


@contextmanager
def batch_span(raw_events: Sequence[RawEvent]) -> Iterator[BatchObservation]:
    """Span, log fields and metrics for one Event Hub batch."""
    partition = raw_events[0].partition if raw_events else None
    sequences = [raw.sequence_number for raw in raw_events if raw.sequence_number is not None]
    attributes: dict[str, str | int] = {
        names.MESSAGING_SYSTEM: "eventhubs",
        names.BATCH_SIZE: len(raw_events),
        names.SPAN_BATCH_SIZE: len(raw_events),
    }
    if partition is not None:
        attributes[names.PARTITION_ID] = attributes[names.SPAN_PARTITION] = partition
    if sequences:
        attributes[names.SEQUENCE_FIRST] = min(sequences)
        attributes[names.SEQUENCE_LAST] = max(sequences)
    enqueued = [raw.enqueued_time for raw in raw_events if raw.enqueued_time is not None]
    newest = max(enqueued) if enqueued else None
    with _observed(
        names.BATCH_SPAN,
        SpanKind.CONSUMER,
        attributes,
        partition=partition,
        trigger="event_hub",
        newest_enqueued=newest,
    ) as obs:
        yield obs


@contextmanager
def outbox_retry_span() -> Iterator[BatchObservation]:
    """Span and metrics for one run of the outbox retry timer."""
    with _observed(names.OUTBOX_RETRY_SPAN, SpanKind.INTERNAL, {}, partition=None, trigger="outbox_retry") as obs:
        yield obs


@contextmanager
def outbox_relay_span() -> Iterator[BatchObservation]:
    """Span and metrics for one change-feed delivery of outbox documents."""
    with _observed(names.OUTBOX_RELAY_SPAN, SpanKind.CONSUMER, {}, partition=None, trigger="outbox_relay") as obs:
        yield obs


@contextmanager
def _observed(
    name: str,
    kind: SpanKind,
    attributes: dict[str, str | int],
    *,
    partition: str | None,
    trigger: str,
    newest_enqueued: datetime | None = None,
) -> Iterator[BatchObservation]:
    tracer = current_instruments().tracer
    with (
        tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span,
        batch_log_fields(partition=partition),
    ):
        observation = BatchObservation(span, partition=partition, trigger=trigger, newest_enqueued=newest_enqueued)
        try:
            yield observation
        except BaseException as exc:
            observation.record_failure(exc)
            raise


def _report_attributes(report: BatchReport) -> dict[str, int]:
    return {
        "squall.events.in": report.events_in,
        "squall.events.dead_lettered": report.events_dead_lettered,
        "squall.events.duplicate": report.events_duplicate,
        "squall.events.suppressed": report.events_suppressed,
        "squall.rule_matches": report.rule_matches,
        "squall.actions.planned": report.actions_planned,
        "squall.actions.delivered": report.actions_delivered,
        "squall.actions.failed": report.actions_failed,
        "squall.actions.shadowed": report.actions_shadowed,
    }
