"""In-memory OpenTelemetry providers for the telemetry tests: spans, metric points and log records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import instruments_from


@dataclass
class Recorded:
    spans: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    logger_provider: LoggerProvider

    def finished_spans(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def metric_points(self) -> dict[tuple[str, frozenset[tuple[str, object]]], object]:
        """Each point by (metric name, attributes): the sum of a counter, the point of a histogram."""
        points: dict[tuple[str, frozenset[tuple[str, object]]], object] = {}
        data = self.metric_reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        key = (metric.name, frozenset((point.attributes or {}).items()))
                        points[key] = getattr(point, "value", point)
        return points

    def counter(self, name: str, **attributes: object) -> object:
        return self.metric_points().get((name, frozenset(attributes.items())))


def recording() -> Iterator[Recorded]:
    """Record into fresh in-memory providers until the generator is closed (``yield from`` it)."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    with instruments_from(tracer_provider=tracer_provider, meter_provider=meter_provider):
        yield Recorded(spans, reader, logs, logger_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()
