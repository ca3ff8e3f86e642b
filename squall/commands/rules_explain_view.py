"""How ``squall rules explain`` and ``squall rules test`` print: rich trees and tables.

Every piece of event data goes through ``rich.text.Text`` (never markup), so a value like
``[bold]`` prints as written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from shared.pipeline.dry_run import DryRunReport
from shared.rules import AnyAction, ConditionExplanation, CooldownExplanation, RuleExplanation, format_datetime

PASS, FAIL, ERROR, SKIPPED = "✓", "✗", "!", "·"


def _mark(result: bool | None) -> Text:
    if result is None:
        return Text(ERROR, style="bold yellow")
    return Text(PASS, style="green") if result else Text(FAIL, style="red")


def render_explanations(
    console: Console,
    explanations: Sequence[RuleExplanation],
    *,
    verbose: bool,
    actions: Mapping[str, Sequence[AnyAction]] | None = None,
) -> None:
    """One tree per rule; rules the event is not a candidate for get one line unless ``verbose``.
    ``actions`` (by rule id) adds what each rule would send, and where."""
    for explanation in explanations:
        if explanation.when.matched or verbose:
            tree = explanation_tree(explanation)
            for action in (actions or {}).get(explanation.rule_id, ()):
                tree.add(Text.assemble(("→ ", "cyan"), "action  ", action_summary(action)))
            console.print(tree)
        else:
            console.print(_headline(explanation))
    fired = [e.rule_id for e in explanations if e.fired]
    console.print(Text(f"fires: {', '.join(fired)}" if fired else "no rule fires", style="bold"))


def action_summary(action: AnyAction) -> str:
    """``webhook -> crm``, ``journey_entry -> sfmc (APIEvent-x)``: the kind, destination and its key."""
    detail = {
        "journey_entry": getattr(action, "event_definition_key", None),
        "data_extension_row": getattr(action, "data_extension_key", None),
        "eventbridge": getattr(action, "detail_type", None),
    }.get(action.kind)
    return f"{action.kind} -> {action.destination}" + (f" ({detail})" if detail else "")


def _headline(explanation: RuleExplanation) -> Text:
    style = "bold green" if explanation.fired else "bold"
    line = Text.assemble(_mark(explanation.fired), " ", (explanation.rule_id, style))
    line.append(f"  priority {explanation.priority}  ")
    line.append(explanation.headline, style="green" if explanation.fired else "dim")
    return line


def explanation_tree(explanation: RuleExplanation) -> Tree:
    tree = Tree(_headline(explanation))
    when = explanation.when
    when_line = Text.assemble(_mark(when.matched), " when  ")
    when_line.append(f"source {when.source or 'any'} (event: {when.event_source}); ")
    when_line.append(f"type {when.event_type}")
    when_line.append(f" matches {when.matched_pattern}" if when.matched_pattern else f" not in {', '.join(when.types)}")
    tree.add(when_line)
    if explanation.condition is None:
        tree.add(Text.assemble(_mark(True), " condition  none (every candidate event)"))
    else:
        _add_condition(tree.add(_condition_label(explanation.condition, top=True)), explanation.condition)
    if explanation.cooldown is not None:
        tree.add(_cooldown_line(explanation.cooldown))
    for part in explanation.stateful:
        tree.add(Text.assemble(("• ", "cyan"), f"{part.kind}  ", part.summary))
    for note in explanation.notes:
        tree.add(Text(f"note: {note}", style="dim"))
    return tree


def _add_condition(branch: Tree, node: ConditionExplanation) -> None:
    for child in node.children:
        _add_condition(branch.add(_condition_label(child, top=False)), child)


def _condition_label(node: ConditionExplanation, *, top: bool) -> Text:
    label = Text.assemble(_mark(node.result) if node.evaluated else Text(SKIPPED, style="dim"), " ")
    if top:
        label.append("condition  ")
    if node.kind != "field":
        label.append(node.kind, style="bold")
    else:
        label.append(f"{node.field} {node.op} ")
        label.append(node.expected_field or node.expected or "")
        label.append("  found ", style="dim")
        label.append(str(node.actual))
        if node.other_actual is not None:
            label.append(" vs ", style="dim")
            label.append(str(node.other_actual))
    if node.note:
        label.append(f"  ({node.note})", style="dim")
    if node.error:
        label.append(f"  error: {node.error}", style="yellow")
    if not node.evaluated:
        label.append("  (not reached by the engine)", style="dim")
    return label


def _cooldown_line(cooldown: CooldownExplanation) -> Text:
    line = Text.assemble(_mark(not cooldown.suppressed), " cool-down  ")
    line.append(cooldown.reason)
    return line


def render_dry_run(console: Console, report: DryRunReport) -> None:
    table = Table(
        "time", "rule", "entity", "event id", "action key", "contact key", "destination", title="rules fired"
    )  # fmt: skip
    for firing in report.firings:
        trigger = "" if firing.trigger == "event" else f" ({firing.trigger})"
        table.add_row(
            Text(format_datetime(firing.time) + trigger),
            Text(firing.rule_id + (" (shadow)" if firing.mode == "shadow" else "")),
            Text(firing.entity),
            Text(firing.event_id),
            Text(firing.action_key or "-"),
            Text(firing.contact_key or f"not planned: {firing.error}"),
            Text(f"{firing.kind} -> {firing.destination}" if firing.kind else "-"),
        )
    console.print(table)
    planned = [firing for firing in report.firings if firing.payload is not None]
    if planned:
        console.print(Text("payloads (what each destination would receive):", style="bold"))
    for firing in planned:
        body = json.dumps(firing.payload, ensure_ascii=False, default=str)
        shadow = " (shadow: not sent)" if firing.mode == "shadow" else ""
        console.print(Text(f"  {firing.rule_id} {firing.event_id} -> {firing.destination}{shadow}: {body}"))
    console.print(Text(dry_run_summary(report)))


def dry_run_summary(report: DryRunReport) -> str:
    shadow = sum(firing.mode == "shadow" for firing in report.firings)
    parts = [
        f"{report.events} events",
        f"{len(report.firings)} firings" + (f" ({shadow} shadow: recorded, not sent)" if shadow else ""),
        f"{len(report.rejections)} rejected",
        f"{report.duplicates} duplicates",
        f"clock {report.clock}",
    ]
    if report.ended_at is not None:
        parts.append(f"ended {format_datetime(report.ended_at)}")
    return ", ".join(parts)
