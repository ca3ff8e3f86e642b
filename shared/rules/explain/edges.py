"""Which edge case of the rule language decided a verdict (docs/rules.md, "Edge cases").

``decisive_edge`` looks at one rule, the event and the states before and after it, and names the
boundary that tipped the verdict, in the user's terms: ``cool-down ends exactly at
2024-05-01T10:00:00Z`` (so the rule fires), ``a firing exactly one period earlier (...) is outside
the period``, ``the last step comes exactly PT10M after the first``, ... ``None`` when no edge
applied. It reads the layout of ``stateful/memory.py`` and never writes state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.events.models import Event
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.explain.conditions import FieldReader
from shared.rules.explain.models import ConditionExplanation
from shared.rules.explain.state import filter_takes
from shared.rules.language.durations import format_duration
from shared.rules.language.times import format_datetime, from_ms, ms_value, span_ms, to_ms
from shared.rules.stateful.memory import (
    ABSENCE_DUE,
    HELD_KEY,
    MACHINE_STATE,
    SEQUENCE_RUNS,
    SLIDING_TIMES,
    WATERMARK_KEY,
    peek_slot,
)
from shared.rules.stateful.program import RuleProgram
from shared.rules.stateful.suppression import firing_times, fullest_period, last_fired
from shared.store.models import EntityState


@dataclass(frozen=True, slots=True)
class EdgeCase:
    """What the finders look at: one rule and one event, the states around it, and the outcome."""

    rule: RuleDefinition
    event: Event
    program: RuleProgram | None
    before: EntityState
    after: EntityState
    fired: bool
    condition: ConditionExplanation | None
    stopped_by: str | None
    read: FieldReader

    @property
    def at(self) -> int:
        return to_ms(self.event.time)

    @property
    def newest(self) -> int:
        """The watermark once the event is taken."""
        watermark = ms_value(self.before.data.get(WATERMARK_KEY))
        return self.at if watermark is None else max(self.at, watermark)

    def slot(self, state: EntityState) -> dict[str, Any]:
        if self.program is None or self.program.pattern is None:
            return {}
        return peek_slot(state, self.rule.id, self.program.pattern.fingerprint) or {}


def decisive_edge(case: EdgeCase) -> str | None:
    """The first edge that applied to ``case`` (see the module docstring), or ``None``."""
    for finder in _FINDERS:
        edge = finder(case)
        if edge is not None:
            return edge
    return None


def _cooldown(case: EdgeCase) -> str | None:
    fired = last_fired(case.before, case.rule.id) if case.rule.cooldown is not None else None
    if fired is None or case.rule.cooldown is None or case.event.time != fired + case.rule.cooldown:
        return None
    return f"cool-down ends exactly at {format_datetime(case.event.time)}"


def _rate(case: EdgeCase) -> str | None:
    limit = case.rule.max_per_period
    if limit is None:
        return None
    stamps, period = firing_times(case.before, case.rule.id), span_ms(limit.period)
    fullest = fullest_period(stamps, case.at, period)
    before_only = [stamp for stamp in stamps if case.at - period < stamp <= case.at]
    if len(fullest) >= limit.count > len(before_only):
        later = [_iso(stamp) for stamp in fullest if stamp > case.at]
        return f"firings after this out-of-order event count ({', '.join(later)}, within {_span(limit.period)})"
    if case.at - period in stamps and len(fullest) == limit.count - 1:
        return f"a firing exactly one period earlier ({_iso(case.at - period)}) is outside the period"
    return None


def _sequence(case: EdgeCase) -> str | None:
    spec = case.rule.sequence
    runs = case.slot(case.before).get(SEQUENCE_RUNS)
    if spec is None or not case.fired or not isinstance(runs, list) or not runs:
        return None
    start = runs[-1]
    if type(start) is int and case.at - start == span_ms(spec.within):
        return f"the last step comes exactly {_span(spec.within)} after the first ({_iso(start)})"
    return None


def _absence(case: EdgeCase) -> str | None:
    if case.rule.absence is None or case.program is None:
        return None
    due_before = ms_value(case.slot(case.before).get(ABSENCE_DUE))
    due_after = ms_value(case.slot(case.after).get(ABSENCE_DUE))
    lateness = case.program.lateness_ms
    if case.fired and due_before is not None and due_before + lateness == case.newest:
        return f"deadline due exactly at {_iso(due_before + lateness)}"
    if due_before is not None and due_after is not None and due_after < due_before:
        return f"an older 'after' event moved the deadline from {_iso(due_before)} to {_iso(due_after)}"
    return None


def _window(case: EdgeCase) -> str | None:
    spec = case.rule.window
    if spec is None or case.program is None:
        return None
    size, lateness = span_ms(spec.size), case.program.lateness_ms
    if spec.kind == "tumbling":
        end = case.at - case.at % size + size
        if end + lateness == case.newest:
            return f"its bucket closed when the watermark reached {_iso(end + lateness)} (end + allowed lateness)"
        return None
    times = case.slot(case.before).get(SLIDING_TIMES)
    if isinstance(times, list) and case.at - size in times:
        return f"an event exactly {_span(spec.size)} earlier ({_iso(case.at - size)}) is outside the window"
    return None


def _machine(case: EdgeCase) -> str | None:
    spec = case.rule.machine
    current = case.slot(case.before).get(MACHINE_STATE)
    if spec is None or current is None:
        return None
    for move in spec.global_:
        if move.to == current and filter_takes(move.when, case.event, case.read):
            return f"global transition to {current!r} skipped: the entity is already in it"
    return None


def _surprise(case: EdgeCase) -> str | None:
    if case.condition is None or case.condition.result is None:
        return None
    for node in _nodes(case.condition):
        failed = next((child for child in node.children if child.result is None and child.evaluated), None)
        if node.kind in ("all", "any") and failed is not None:
            return f"a type surprise at {failed.path} did not decide the {node.kind}: another child did"
    return None


def _rearm(case: EdgeCase) -> str | None:
    if not case.rule.rearm or case.stopped_by is None:
        return None
    held_before, held_after = case.before.data.get(HELD_KEY), case.after.data.get(HELD_KEY)
    was = isinstance(held_before, list) and case.rule.id in held_before
    still = isinstance(held_after, list) and case.rule.id in held_after
    if was and not still:
        return f"{case.stopped_by} stopped the event, but the condition was false: re-armed"
    return None


def _nodes(node: ConditionExplanation) -> Iterator[ConditionExplanation]:
    yield node
    for child in node.children:
        yield from _nodes(child)


def _iso(ms: int) -> str:
    return format_datetime(from_ms(ms))


def _span(value: Any) -> str:
    return format_duration(value)


_FINDERS: tuple[Callable[[EdgeCase], str | None], ...] = (
    _cooldown, _rate, _sequence, _absence, _window, _machine, _rearm, _surprise,
)  # fmt: skip
