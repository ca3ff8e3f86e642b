"""The benchmark's result as a JSON-ready dict (stable field names) and as a few readable lines."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from shared.events.normalize import ACCELERATED
from squall.bench.runner import BenchResult

#: Fields every report has (``state_reads``/``state_writes`` are added for --stateful runs).
REQUIRED_FIELDS = (
    "rules",
    "events",
    "events_per_s",
    "us_per_event",
    "batch_p50_ms",
    "batch_p99_ms",
    "match_rate",
)


def machine_info() -> dict[str, Any]:
    """CPU count and model, Python version and build, OS: enough to compare runs."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def percentile(values: list[int], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 < fraction <= 1)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


def report_dict(result: BenchResult) -> dict[str, Any]:
    config, counters = result.config, result.counters
    total_ns = sum(result.batch_ns)
    events = counters.events
    report: dict[str, Any] = {
        "rules": config.rules,
        "events": events,
        "events_per_s": round(events / (total_ns / 1e9)) if total_ns else 0,
        "us_per_event": round(total_ns / 1e3 / events, 3) if events else 0.0,
        "batch_p50_ms": round(percentile(result.batch_ns, 0.50) / 1e6, 3),
        "batch_p99_ms": round(percentile(result.batch_ns, 0.99) / 1e6, 3),
        "match_rate": round(counters.matched_events / events, 4) if events else 0.0,
        "cpu_us_per_event": round(result.cpu_ns / 1e3 / events, 3) if events else 0.0,
        "matches_per_event": round(counters.matches / events, 4) if events else 0.0,
        "candidates_per_event": round(result.candidates_per_event, 2),
        "normalize_us_per_event": round(result.normalize_ns_per_event / 1e3, 3),
        "rules_us_per_event": round(result.rules_ns_per_event / 1e3, 3),
        "rejections": counters.rejections,
        "batch": config.batch,
        "batches": len(result.batch_ns),
        "seed": config.seed,
        "stateful": config.stateful,
        "warmup_events": config.warmup,
        "repeat": config.repeat,
        "accelerated": ACCELERATED,
        "runs_events_per_s": [round(events / (ns / 1e9)) if ns else 0 for ns in result.runs_ns],
        "machine": machine_info(),
    }
    if config.stateful:
        report["state_reads"] = counters.state_reads
        report["state_writes"] = counters.state_writes
        report["entities_with_state"] = result.store_size
    return report


def report_lines(report: dict[str, Any]) -> list[str]:
    machine = report["machine"]
    lines = [
        f"rules {report['rules']:,}  events {report['events']:,}  batch {report['batch']}  "
        f"seed {report['seed']}{'  stateful' if report['stateful'] else ''}  "
        f"(best of {report['repeat']} runs: {', '.join(f'{rate:,}' for rate in report['runs_events_per_s'])}/s)",
        f"  {report['events_per_s']:,} events/s   {report['us_per_event']} µs/event "
        f"({report['cpu_us_per_event']} µs CPU)   "
        f"batch p50 {report['batch_p50_ms']} ms  p99 {report['batch_p99_ms']} ms",
        f"  match rate {report['match_rate']:.2%}  ({report['matches_per_event']} matches/event, "
        f"{report['candidates_per_event']} candidates/event, {report['rejections']} rejections)",
        f"  stages: normalize {report['normalize_us_per_event']} µs/event, "
        f"rules {report['rules_us_per_event']} µs/event",
        f"  normalization: {'compiled copy (Cython)' if report['accelerated'] else 'pure Python'}",
    ]
    if report["stateful"]:
        lines.append(f"  state reads {report['state_reads']:,}  writes {report['state_writes']:,}")
    lines.append(
        f"  machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"{machine['python_implementation']} {machine['python']}, {machine['platform']}"
    )
    return lines
