"""``squall bench``: the hot path (bytes -> canonical event -> matches) measured in one process.

config = BenchConfig(rules=1000, events=200_000)
report = report_dict(run_bench(config))   # events_per_s, us_per_event, batch_p50_ms, ...
"""

from __future__ import annotations

from squall.bench.report import REQUIRED_FIELDS, machine_info, report_dict, report_lines
from squall.bench.rulegen import generate_rules, sample_audience
from squall.bench.runner import BatchRunner, BenchConfig, BenchResult, build_ruleset, run_bench

__all__ = [
    "REQUIRED_FIELDS",
    "BatchRunner",
    "BenchConfig",
    "BenchResult",
    "build_ruleset",
    "generate_rules",
    "machine_info",
    "report_dict",
    "report_lines",
    "run_bench",
    "sample_audience",
]
