"""Observability: structured log fields, OpenTelemetry spans and metrics, Application Insights export.

Public API:

- ``configure_telemetry(settings)`` — export to Application Insights when
  ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (no-op otherwise);
- ``batch_span(raw_events)`` / ``outbox_retry_span()`` — a span per batch or timer run; call
  ``.record(report)`` on what they yield to record the report's metrics;
- ``record_batch(report, partition=..., duration_s=...)`` and ``record_delivery(outcomes)`` — the
  metrics alone; ``MeasuredSender`` records delivery metrics around any ``ActionSender``;
- ``log_ids(...)`` — ``extra=`` for log calls, so records carry event id, rule id, action key,
  partition and sequence number as fields.

Importing this package costs only the OpenTelemetry API; the SDK and exporters load in
``configure_telemetry``, and only when Application Insights is configured.
"""

from __future__ import annotations

from shared.telemetry.azure_monitor import TelemetryPipeline, build_azure_monitor_pipeline, configure_telemetry
from shared.telemetry.instruments import instruments_from, record_batch, record_delivery
from shared.telemetry.log_fields import batch_log_fields, log_ids
from shared.telemetry.measured_sender import MeasuredSender
from shared.telemetry.names import LOG_FIELDS
from shared.telemetry.tracing import BatchObservation, batch_span, outbox_retry_span

__all__ = [
    "LOG_FIELDS",
    "BatchObservation",
    "MeasuredSender",
    "TelemetryPipeline",
    "batch_log_fields",
    "batch_span",
    "build_azure_monitor_pipeline",
    "configure_telemetry",
    "instruments_from",
    "log_ids",
    "outbox_retry_span",
    "record_batch",
    "record_delivery",
]
