"""Lint for stateful rules: what needs the whole rule or the whole rule set to see.

Per rule: one pattern at most, actions where they belong, suppression and lateness only where they
mean something, machine states that exist and can be reached. Across rules: every ``state.<id>``
field names a machine or window of the set, with parts and state names that exist.
Each problem is a ``RuleError`` with the rule id, a JSON path and a message.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from shared.rules.definitions.conditions import FieldCondition, condition_leaves
from shared.rules.definitions.patterns import MAX_LATENESS, MAX_OPEN_BUCKETS, MachineSpec
from shared.rules.definitions.rule import PATTERNS, RuleDefinition
from shared.rules.errors import RuleError
from shared.rules.language.fields import STATE_TOP, parse_field_path
from shared.rules.language.operators import OPERATORS

Problem = tuple[str, str]
_READABLE = {"machine": (None, "since"), "window": (None,)}


def lint_stateful_rules(rules: Sequence[RuleDefinition]) -> list[RuleError]:
    """Every rule's own problems, then the references between rules."""
    errors = [
        RuleError(rule.id, path, message, index)
        for index, rule in enumerate(rules)
        for path, message in lint_stateful_rule(rule)
    ]
    return errors + lint_state_references(rules)


def lint_stateful_rule(rule: RuleDefinition) -> list[Problem]:
    problems = list(_pattern_problems(rule))
    problems += _lateness_problems(rule)
    if rule.machine is not None:
        problems += _machine_problems(rule.machine)
    for path, leaf in state_leaves(rule):
        for name, text in (("field", leaf.field), ("value_field", leaf.value_field)):
            part = _state_part(text)
            if part is not _NOT_STATE and part not in (None, "since"):
                problems.append((f"{path}.{name}", f"unknown part {part!r} of {text}: only .since (machines)"))
    return problems


def _pattern_problems(rule: RuleDefinition) -> Iterator[Problem]:
    present = [name for name in PATTERNS if getattr(rule, name) is not None]
    for name in present[1:]:
        yield f"$.{name}", f"a rule has one of window, sequence, absence or machine; this one also has {present[0]}"
    if rule.machine is not None and rule.action is not None:
        yield "$.action", "a machine plans its states' on_enter actions; it has no action of its own"
    if rule.machine is None and rule.action is None:
        yield "$.action", "required field is missing"
    suppressing = {"cooldown": rule.cooldown, "max_per_period": rule.max_per_period, "rearm": rule.rearm}
    for name, value in suppressing.items():
        if rule.machine is not None and value:
            yield f"$.{name}", f"{name} does not apply to a machine: its actions fire once per state entry"
    if rule.rearm and (rule.sequence is not None or rule.absence is not None):
        yield "$.rearm", "rearm needs a condition that can clear; a sequence or an absence fires once per occurrence"


def _lateness_problems(rule: RuleDefinition) -> list[Problem]:
    lateness = rule.allowed_lateness
    if lateness is None:
        return []
    if rule.pattern is None:
        return [("$.allowed_lateness", "allowed_lateness applies to window, sequence, absence and machine rules")]
    if lateness > MAX_LATENESS:
        return [("$.allowed_lateness", f"allowed_lateness may be at most {MAX_LATENESS.days} days")]
    window = rule.window
    if window is not None and window.kind == "tumbling":
        open_buckets = math.ceil(lateness / window.size) + 1
        if open_buckets > MAX_OPEN_BUCKETS:
            return [
                (
                    "$.allowed_lateness",
                    f"a tumbling window keeps at most {MAX_OPEN_BUCKETS} buckets open: allowed_lateness "
                    f"may be at most {MAX_OPEN_BUCKETS - 1} window sizes",
                )
            ]
    return []


def _machine_problems(machine: MachineSpec) -> list[Problem]:
    known = machine.states
    listing = ", ".join(known)
    problems: list[Problem] = []

    def check(name: str, path: str) -> None:
        if name not in known:
            problems.append((path, f"unknown state {name!r}; the machine's states are {listing}"))

    check(machine.initial, "$.machine.initial")
    for position, move in enumerate(machine.transitions):
        where = f"$.machine.transitions[{position}]"
        for index, source in enumerate(move.sources):
            check(source, f"{where}.from" if isinstance(move.from_, str) else f"{where}.from[{index}]")
        check(move.to, f"{where}.to")
        if move.to in move.sources:
            problems.append((where, f"a transition from {move.to!r} to itself changes nothing"))
    for position, global_move in enumerate(machine.global_):
        check(global_move.to, f"$.machine.global[{position}].to")
    if not problems:
        problems += [
            (
                f"$.machine.states.{name}",
                f"state {name!r} is unreachable: no transition from {machine.initial!r} leads to it",
            )
            for name in known
            if name not in reachable_states(machine)
        ]
    return problems


def reachable_states(machine: MachineSpec) -> set[str]:
    """The states an entity can get to from ``initial``."""
    reached = {machine.initial}
    if machine.global_:
        reached |= {move.to for move in machine.global_}
    frontier = list(reached)
    while frontier:
        state = frontier.pop()
        for move in machine.transitions:
            if state in move.sources and move.to not in reached:
                reached.add(move.to)
                frontier.append(move.to)
    return reached


def state_leaves(rule: RuleDefinition) -> list[tuple[str, FieldCondition]]:
    """Every condition leaf reading ``state.`` in the rule (its condition and its patterns' filters)."""
    found = [
        (path, leaf)
        for at in rule.event_filters()
        for path, leaf in condition_leaves(at.condition, f"{at.path}.condition")
        if _reads_state(leaf)
    ]
    return found


def _reads_state(leaf: FieldCondition) -> bool:
    return _state_part(leaf.field) is not _NOT_STATE or _state_part(leaf.value_field) is not _NOT_STATE


_NOT_STATE: Any = object()


def _state_part(text: str | None) -> Any:
    """``None`` for ``state.<id>``, the part for ``state.<id>.<part>``, ``_NOT_STATE`` otherwise."""
    if text is None:
        return _NOT_STATE
    path = parse_field_path(text)
    if path.top != STATE_TOP:
        return _NOT_STATE
    return path.keys[1] if len(path.keys) > 1 else None


def lint_state_references(rules: Sequence[RuleDefinition]) -> list[RuleError]:
    """Every ``state.<id>`` must name a machine or window of ``rules``, with a part and values it has."""
    by_id = {rule.id: rule for rule in rules}
    errors = []
    for index, rule in enumerate(rules):
        for path, leaf in state_leaves(rule):
            for name, text in (("field", leaf.field), ("value_field", leaf.value_field)):
                if text is not None and _state_part(text) is not _NOT_STATE:
                    message = _reference_problem(text, by_id)
                    if message:
                        errors.append(RuleError(rule.id, f"{path}.{name}", message, index))
            value_problem = _state_value_problem(leaf, by_id)
            if value_problem:
                errors.append(RuleError(rule.id, f"{path}.value", value_problem, index))
    return errors


def _reference_problem(text: str, by_id: dict[str, RuleDefinition]) -> str | None:
    path = parse_field_path(text)
    target = by_id.get(path.keys[0])
    if target is None:
        return f"{text}: no rule {path.keys[0]!r} in this rule set (state fields name a machine or window rule)"
    kind = target.pattern
    if kind not in _READABLE:
        return f"{text}: rule {target.id!r} is not a machine or window, so it has no readable state"
    part = path.keys[1] if len(path.keys) > 1 else None
    if part not in _READABLE[kind]:
        return f"{text}: a {kind} has no part {part!r}"
    return None


def _state_value_problem(leaf: FieldCondition, by_id: dict[str, RuleDefinition]) -> str | None:
    """``state.<machine> eq 'actve'``: a state name the machine does not have never matches."""
    if not OPERATORS[leaf.op].state_ok or _state_part(leaf.field) is not None or "value" not in leaf.model_fields_set:
        return None
    target = by_id.get(parse_field_path(leaf.field).keys[0])
    if target is None or target.machine is None:
        return None
    names = leaf.value if isinstance(leaf.value, list) else [leaf.value]
    unknown = [name for name in names if name not in target.machine.states]
    if not unknown:
        return None
    return f"{unknown[0]!r} is not a state of machine {target.id!r} (states: {', '.join(target.machine.states)})"
