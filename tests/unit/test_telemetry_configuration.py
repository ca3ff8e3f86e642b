"""configure_telemetry without Application Insights: nothing installed, nothing heavy imported."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry import trace

from shared.settings import Settings
from shared.telemetry import configure_telemetry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("connection_string", [None, "", "   "])
def test_without_a_connection_string_nothing_is_installed(connection_string: str | None) -> None:
    # GIVEN settings without an Application Insights connection string
    settings = Settings(APPLICATIONINSIGHTS_CONNECTION_STRING=connection_string)
    handlers_before = list(logging.getLogger("shared").handlers)
    # WHEN telemetry is configured
    pipeline = configure_telemetry(settings)
    # THEN there is no pipeline, the global tracer provider is still the API's, no handler was added
    assert pipeline is None
    assert "opentelemetry.sdk" not in type(trace.get_tracer_provider()).__module__
    assert logging.getLogger("shared").handlers == handlers_before


def test_the_function_app_imports_no_sdk_or_exporter_until_telemetry_is_configured() -> None:
    # GIVEN a fresh interpreter  WHEN the Function App is imported and telemetry configured without
    # a connection string  THEN neither the OpenTelemetry SDK nor the Azure Monitor exporter is loaded
    code = (
        "import sys, function_app\n"
        "from shared.settings import Settings\n"
        "from shared.telemetry import configure_telemetry\n"
        "configure_telemetry(Settings())\n"
        "heavy = ('opentelemetry.sdk', 'azure.monitor')\n"
        "print(sorted({m for m in sys.modules if m.startswith(heavy)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
