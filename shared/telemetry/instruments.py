"""Where Squall's spans and metrics go: the global OpenTelemetry providers, unless told otherwise.

Before ``configure_telemetry`` (or without Application Insights) the global providers are the
API's no-op proxies, so instrumentation costs next to nothing; once the SDK providers are set the
same tracer and instruments start recording. ``instruments_from`` points them at other providers
(tests use the SDK's in-memory exporter and reader).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import metrics, trace

from shared.actions.models import DeliveryOutcome
from shared.pipeline.report import BatchReport
from shared.telemetry.metrics import PipelineMetrics
from shared.telemetry.names import SCOPE


@dataclass(frozen=True, slots=True)
class Instruments:
    tracer: trace.Tracer
    metrics: PipelineMetrics


_active: Instruments | None = None


def current_instruments() -> Instruments:
    global _active
    if _active is None:
        _active = Instruments(trace.get_tracer(SCOPE), PipelineMetrics(metrics.get_meter(SCOPE)))
    return _active


@contextmanager
def instruments_from(
    *, tracer_provider: trace.TracerProvider, meter_provider: metrics.MeterProvider
) -> Iterator[Instruments]:
    """Within the block, record into these providers instead of the global ones."""
    global _active
    previous = _active
    _active = Instruments(tracer_provider.get_tracer(SCOPE), PipelineMetrics(meter_provider.get_meter(SCOPE)))
    try:
        yield _active
    finally:
        _active = previous


def record_batch(report: BatchReport, *, partition: str | None, duration_s: float, trigger: str = "event_hub") -> None:
    """Metrics of one processed batch: events, matches and actions by outcome, and its duration."""
    current_instruments().metrics.record_batch(report, partition=partition, duration_s=duration_s, trigger=trigger)


def record_delivery(outcomes: Sequence[DeliveryOutcome], *, duration_s: float | None = None) -> None:
    """Metrics of settled deliveries: attempts per action, retries, and the call's duration."""
    current_instruments().metrics.record_delivery(outcomes, duration_s=duration_s)


def record_backlog(count: int, age_s: float) -> None:
    """The outbox backlog: how many actions wait, and how old the oldest is (the alert's metric)."""
    current_instruments().metrics.record_backlog(count, age_s)
