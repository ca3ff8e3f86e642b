"""A logging handler that exports records through OpenTelemetry, with allow-listed fields only.

The SDK's own ``LoggingHandler`` is deprecated and exports every ``extra`` attribute; this one
exports the message, the level, the logger name, the trace context and the ids in ``LOG_FIELDS``
(custom dimensions in Application Insights) — never other record attributes, so a payload passed
by mistake as ``extra`` stays out. Exceptions go as their type and stack frames (no message, no
source lines: they can quote input).
"""

from __future__ import annotations

import logging
import traceback
from time import time_ns
from types import TracebackType

from opentelemetry._logs import LoggerProvider, SeverityNumber
from opentelemetry.context import get_current
from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_STACKTRACE, EXCEPTION_TYPE

from shared.log_fields import BatchLogFields
from shared.telemetry.names import LOG_FIELDS

_SEVERITY = (
    (logging.CRITICAL, SeverityNumber.FATAL, "FATAL"),
    (logging.ERROR, SeverityNumber.ERROR, "ERROR"),
    (logging.WARNING, SeverityNumber.WARN, "WARN"),
    (logging.INFO, SeverityNumber.INFO, "INFO"),
    (logging.DEBUG, SeverityNumber.DEBUG, "DEBUG"),
)


class LogExportHandler(logging.Handler):
    """Sends each record to ``provider`` (its OpenTelemetry logger named like the Python logger)."""

    def __init__(self, provider: LoggerProvider, *, level: int = logging.INFO) -> None:
        super().__init__(level=level)
        self.provider = provider
        self.addFilter(BatchLogFields())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            severity_number, severity_text = _severity(record.levelno)
            self.provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9),
                observed_timestamp=time_ns(),
                context=get_current(),
                severity_number=severity_number,
                severity_text=severity_text,
                body=record.getMessage(),
                attributes=exported_attributes(record),
            )
        except Exception:  # logging must never break the caller
            self.handleError(record)

    def flush(self) -> None:
        force_flush = getattr(self.provider, "force_flush", None)
        if callable(force_flush):
            force_flush()


def exported_attributes(record: logging.LogRecord) -> dict[str, str | int | float | bool]:
    """The allow-listed fields of ``record`` (plus exception type and frames when it has one)."""
    attributes: dict[str, str | int | float | bool] = {}
    for name in LOG_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            attributes[name] = value if isinstance(value, str | int | float | bool) else str(value)
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, _, tb = record.exc_info
        attributes[EXCEPTION_TYPE] = exc_type.__name__
        attributes[EXCEPTION_STACKTRACE] = _frames(tb)
    return attributes


def _frames(tb: TracebackType | None) -> str:
    """Where the exception passed, innermost last, without source lines (they can quote data)."""
    return "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in traceback.extract_tb(tb))


def _severity(levelno: int) -> tuple[SeverityNumber, str]:
    for threshold, number, text in _SEVERITY:
        if levelno >= threshold:
            return number, text
    return SeverityNumber.TRACE, "TRACE"
