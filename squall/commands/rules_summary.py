"""``squall rules test --summary``: firings per rule per day (UTC, in event time), with a bar chart.

"What would this new rule have done last week?": replay the week's events and compare a shadow
rule's days with the live rule's. The same counts, in Azure, are the metric
``squall.rule.firings{rule_id, mode}`` (docs/observability.md).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import typer

from shared.pipeline.dry_run import DryRunReport
from shared.rules import CompiledRule
from squall.commands.rules_explain_view import dry_run_summary

BAR = "█"
BAR_WIDTH = 30  # the longest bar, in blocks


def firings_summary(report: DryRunReport, rules: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``rules``: every rule's (id, mode), so a rule that never fired is listed with 0."""
    per_day: dict[str, Counter[str]] = {}
    modes = dict(rules)
    for firing in report.firings:
        per_day.setdefault(firing.rule_id, Counter())[firing.time.date().isoformat()] += 1
        modes.setdefault(firing.rule_id, firing.mode)
    return {
        "events": report.events,
        "firings": len(report.firings),
        "shadow_firings": sum(firing.mode == "shadow" for firing in report.firings),
        "rejected": len(report.rejections),
        "duplicates": report.duplicates,
        "clock": report.clock,
        "rules": [
            {
                "rule_id": rule_id,
                "mode": modes[rule_id],
                "firings": sum(per_day.get(rule_id, Counter()).values()),
                "by_day": dict(sorted(per_day.get(rule_id, Counter()).items())),
            }
            for rule_id in sorted(modes)
        ],
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """One row per rule and day it fired, the scale, then the rules that never fired."""
    rows = [("rule", "mode", "day", "firings", "")]
    most = max((count for rule in summary["rules"] for count in rule["by_day"].values()), default=0)
    per_block = max(1, math.ceil(most / BAR_WIDTH))
    for rule in summary["rules"]:
        for day, count in rule["by_day"].items():
            rows.append((rule["rule_id"], rule["mode"], day, str(count), BAR * math.ceil(count / per_block)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["firings per rule per day (UTC, event time)"]
    for rule_id, mode, day, count, bar in rows:
        cells = [rule_id.ljust(widths[0]), mode.ljust(widths[1]), day.ljust(widths[2]), count.rjust(widths[3])]
        lines.append(("  ".join(cells) + "  " + bar).rstrip())
    lines.append(f"{BAR} = {per_block} firing{'s' if per_block != 1 else ''}")
    silent = [
        rule["rule_id"] + (" (shadow)" if rule["mode"] == "shadow" else "")
        for rule in summary["rules"]
        if not rule["firings"]
    ]
    if silent:
        lines.append(f"no firings: {', '.join(silent)}")
    return lines


def print_summary(report: DryRunReport, rules: Iterable[CompiledRule], *, as_json: bool) -> None:
    """``--json``: one object ``{"summary": {...}}``; else the chart and the run's summary line."""
    summary = firings_summary(report, [(rule.id, "shadow" if rule.shadow else "live") for rule in rules])
    if as_json:
        typer.echo(json.dumps({"summary": summary}, ensure_ascii=False))
        return
    for line in summary_lines(summary):
        typer.echo(line)
    typer.echo(dry_run_summary(report))
