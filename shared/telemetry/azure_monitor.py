"""configure_telemetry: OpenTelemetry traces, metrics and logs to Application Insights, if configured.

With ``APPLICATIONINSIGHTS_CONNECTION_STRING`` unset nothing is imported or started: the API's no-op
providers stay in place. With it set, the SDK's tracer, meter and logger providers export through
the Azure Monitor exporters (``azure-monitor-opentelemetry-exporter``, not the heavier distro: no
auto-instrumentation of every HTTP and Cosmos call, and a faster cold start — docs/observability.md).

Entra ID: the infra sets ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING=ClientId=...;Authorization=AAD``
(Application Insights local auth is off). The exporters read it themselves and authenticate with
``ManagedIdentityCredential(client_id=...)``; pass ``credential=`` to use another token credential.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace

from shared.settings import Settings
from shared.telemetry.log_export import LogExportHandler

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

SERVICE_NAME = "squall"
#: Loggers whose records are exported (Squall's own; the Azure SDKs' chatter is not).
EXPORTED_LOGGERS = ("shared", "functions")
#: The exporters log every successful upload at INFO; keep only their warnings.
EXPORTER_LOGGER = "azure.monitor.opentelemetry.exporter"


@dataclass(slots=True)
class TelemetryPipeline:
    """The SDK providers that export, and the handler that feeds them log records."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    log_handler: LogExportHandler
    attached_to: list[str] = field(default_factory=list)

    def attach_log_handler(self, logger_names: tuple[str, ...] = EXPORTED_LOGGERS) -> None:
        for name in logger_names:
            logging.getLogger(name).addHandler(self.log_handler)
            self.attached_to.append(name)

    def force_flush(self) -> None:
        self.tracer_provider.force_flush()
        self.meter_provider.force_flush()
        self.logger_provider.force_flush()

    def shutdown(self) -> None:
        for name in self.attached_to:
            logging.getLogger(name).removeHandler(self.log_handler)
        self.attached_to.clear()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


_installed: TelemetryPipeline | None = None


def configure_telemetry(settings: Settings, *, credential: TokenCredential | None = None) -> TelemetryPipeline | None:
    """Export to Application Insights when its connection string is set; once per process.

    Returns the installed pipeline (the same one on later calls), or ``None`` when telemetry is off.
    """
    global _installed
    connection_string = (settings.appinsights_connection_string or "").strip()
    if _installed is not None or not connection_string:
        return _installed
    pipeline = build_azure_monitor_pipeline(connection_string, credential=credential)
    trace.set_tracer_provider(pipeline.tracer_provider)
    metrics.set_meter_provider(pipeline.meter_provider)
    pipeline.attach_log_handler()
    logging.getLogger(EXPORTER_LOGGER).setLevel(logging.WARNING)
    _installed = pipeline
    log.info("telemetry: exporting traces, metrics and logs to Application Insights")
    return pipeline


def build_azure_monitor_pipeline(
    connection_string: str,
    *,
    credential: TokenCredential | None = None,
    export_interval_s: float = 60.0,
    disable_offline_storage: bool = False,
) -> TelemetryPipeline:
    """SDK providers exporting to the Application Insights resource named by ``connection_string``.

    Nothing global is touched: ``configure_telemetry`` installs the result; tests use it as is.
    """
    from azure.monitor.opentelemetry.exporter import (
        AzureMonitorLogExporter,
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    options: dict[str, Any] = {
        "connection_string": connection_string,
        "disable_offline_storage": disable_offline_storage,
    }
    if credential is not None:
        options["credential"] = credential
    resource = Resource.create({"service.name": SERVICE_NAME})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(AzureMonitorTraceExporter(**options)))
    reader = PeriodicExportingMetricReader(
        AzureMonitorMetricExporter(**options), export_interval_millis=export_interval_s * 1000
    )
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(AzureMonitorLogExporter(**options)))
    return TelemetryPipeline(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        log_handler=LogExportHandler(logger_provider),
    )
