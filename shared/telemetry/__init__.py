"""Observability: structured log fields, OpenTelemetry spans and metrics, Application Insights export.

Public API:

- ``configure_telemetry(settings)`` — export to Application Insights when
  ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (no-op otherwise);
- ``batch_span(raw_events)`` / ``outbox_retry_span()`` — a span per batch or timer run; call
  ``.record(report)`` on what they yield to record the report's metrics;
- ``record_batch(report, partition=..., duration_s=...)`` and ``record_delivery(outcomes)`` — the
  metrics alone; ``MeasuredSender`` (``with_delivery_metrics(deps)``) records delivery metrics around any
  ``ActionSender``;
- ``log_ids(...)`` — ``extra=`` for log calls, so records carry event id, rule id, action key,
  partition and sequence number as fields.

``log_ids``, ``batch_log_fields`` and ``LOG_FIELDS`` live in the leaf module ``shared.log_fields``
(what low-level modules import) and are re-exported here. The other names load on first use: the
OpenTelemetry API loads with the spans and metrics, and the SDK and exporters only in
``configure_telemetry`` when Application Insights is configured.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.log_fields import LOG_FIELDS, batch_log_fields, log_ids

if TYPE_CHECKING:
    from shared.telemetry.azure_monitor import TelemetryPipeline, build_azure_monitor_pipeline, configure_telemetry
    from shared.telemetry.instruments import instruments_from, record_backlog, record_batch, record_delivery
    from shared.telemetry.measured_sender import MeasuredSender, with_delivery_metrics
    from shared.telemetry.tracing import BatchObservation, batch_span, outbox_relay_span, outbox_retry_span

_MODULE_OF = {
    "TelemetryPipeline": "azure_monitor",
    "build_azure_monitor_pipeline": "azure_monitor",
    "configure_telemetry": "azure_monitor",
    "instruments_from": "instruments",
    "record_batch": "instruments",
    "record_delivery": "instruments",
    "record_backlog": "instruments",
    "MeasuredSender": "measured_sender",
    "with_delivery_metrics": "measured_sender",
    "BatchObservation": "tracing",
    "batch_span": "tracing",
    "outbox_retry_span": "tracing",
    "outbox_relay_span": "tracing",
}

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
    "outbox_relay_span",
    "outbox_retry_span",
    "record_backlog",
    "record_batch",
    "record_delivery",
    "with_delivery_metrics",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
