"""Lint at write time: rule mistakes pydantic's schema cannot see, reported like validation errors.

``lint_rule`` runs on a rule that already validated (``validate_rules`` calls it) and knows what
the normalizers produce:

- the types of the canonical fields (``time`` is a datetime, ``entity`` a string ...) and, for
  rules with ``when.source: o365``, of the normalized O365 keys (``attributes.record_type`` is a
  number, ``attributes.workload`` a string ...): a literal or a second field (``value_field``) of
  another type, or an operator that cannot apply to the type, never matches — an error;
- O365 fields that become canonical fields are not kept in ``attributes``
  (``attributes.CreationTime`` -> ``time``);
- O365 event types are ``Workload/Operation``: a type pattern without ``/`` never matches.

The same checks run on every event filter of a stateful rule (sequence steps, absence sides,
machine transitions), each with its own ``source`` (or the rule's).

``lint_stateful_rule`` checks what a stateful rule means on its own: one pattern at most, actions
where they belong, suppression and lateness only where they mean something, ``state.<id>`` parts
that exist, machine states that exist and can be reached. What needs the whole rule set (which rule
a ``state.<id>`` names) is ``references.py``'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Final

from shared.rules.definitions.conditions import FieldCondition, condition_leaves
from shared.rules.definitions.patterns import MAX_LATENESS, MAX_OPEN_BUCKETS, MachineSpec
from shared.rules.definitions.rule import PATTERNS, RuleDefinition
from shared.rules.errors import OperandError, RuleError
from shared.rules.language.fields import STATE_TOP, TOP_LEVEL_FIELDS, parse_field_path
from shared.rules.language.operands import Kind, typed_literal
from shared.rules.language.operators import OPERATORS

Problem = tuple[str, str]
#: What ``state.<id>`` may read, by the kind of rule it names: the rule's value (``None``), and a
#: machine's ``.since`` (when the entity entered its current state).
READABLE_PARTS: Final[dict[str, tuple[str | None, ...]]] = {"machine": (None, "since"), "window": (None,)}
_ANY_READABLE_PART = frozenset(part for parts in READABLE_PARTS.values() for part in parts)

#: Normalized keys every O365 event has (``shared/events/o365.py``), with the kind of their values.
O365_ATTRIBUTE_KINDS: Final[dict[str, Kind]] = {
    "workload": Kind.STRING,
    "operation": Kind.STRING,
    "record_type": Kind.NUMBER,
    "result_status": Kind.STRING,
    "client_ip": Kind.STRING,
    "user_type": Kind.STRING,
}
#: Producer fields the O365 normalizer moves to canonical fields.
O365_MOVED_FIELDS: Final[dict[str, str]] = {
    "Id": "id",
    "CreationTime": "time",
    "UserId": "entity",
    "OrganizationId": "tenant",
}


def lint_rule(rule: RuleDefinition, *, index: int | None = None) -> list[RuleError]:
    """Every problem found in ``rule`` (an empty list when there is none)."""
    problems: list[tuple[str, str]] = []
    for prefix, source, types, condition in rule.event_filters():
        o365 = (source or rule.when.source) == "o365"
        if o365:
            problems.extend(_type_pattern_problems(prefix, types))
        for path, leaf in condition_leaves(condition, f"{prefix}.condition"):
            problems.extend(_leaf_problems(leaf, path, o365=o365))
    return [RuleError(rule.id, path, message, index) for path, message in problems]


def _type_pattern_problems(prefix: str, types: list[str] | None) -> Iterator[tuple[str, str]]:
    where = "$.when" if prefix == "$" else prefix
    for position, pattern in enumerate(types or ()):
        if pattern != "*" and "/" not in pattern and not pattern.endswith("*"):
            yield (
                f"{where}.types[{position}]",
                f"o365 event types are Workload/Operation (e.g. Exchange/Send); {pattern!r} never matches",
            )


def field_kind(field: str, *, o365: bool) -> Kind | None:
    """The kind of a field's values when it is known, else ``None``."""
    path = parse_field_path(field)
    if not path.keys:
        return Kind.DATETIME if TOP_LEVEL_FIELDS[path.top] == "datetime" else Kind.STRING
    if o365 and path.top == "attributes" and len(path.keys) == 1:
        return O365_ATTRIBUTE_KINDS.get(path.keys[0])
    return None


def _leaf_problems(leaf: FieldCondition, path: str, *, o365: bool) -> list[tuple[str, str]]:
    problems = []
    for name, field in (("field", leaf.field), ("value_field", leaf.value_field)):
        moved = _moved_o365_field(field) if o365 and field is not None else None
        if field is not None and moved is not None:
            message = (
                f"o365 events carry {field.removeprefix('attributes.')} as {moved}, not in attributes; use {moved}"
            )
            problems.append((f"{path}.{name}", message))
    if problems or leaf.op == "exists":
        return problems
    kind = field_kind(leaf.field, o365=o365)
    if leaf.value_field is not None:
        pair_message = _pair_problem(leaf, kind, field_kind(leaf.value_field, o365=o365))
        return [(f"{path}.value_field", pair_message)] if pair_message else []
    literal_message = _literal_problem(leaf, kind) if kind is not None else None
    return [(f"{path}.value", literal_message)] if literal_message else []


def _moved_o365_field(field: str) -> str | None:
    path = parse_field_path(field)
    return O365_MOVED_FIELDS.get(path.keys[0]) if path.top == "attributes" and len(path.keys) == 1 else None


def _literal_problem(leaf: FieldCondition, kind: Kind) -> str | None:
    where = f"{leaf.field} is a {kind.value}"
    operator = OPERATORS[leaf.op]
    if operator.orders and kind is Kind.STRING:
        return f"{where}: {leaf.op} orders numbers, datetimes and durations, never text"
    if operator.text_only and kind is not Kind.STRING:
        return f"{where}: {leaf.op} works on text"
    if operator.text_only:
        return None  # the literal is a pattern or substring, checked by the operator
    literals = leaf.value if isinstance(leaf.value, list) else [leaf.value]
    for literal in literals:
        try:
            literal_kind, _ = typed_literal(literal)
        except OperandError:
            continue  # reported by validation already
        if literal_kind is not kind:
            return f"{where}; {literal!r} is a {literal_kind.value}, which never equals one ({leaf.op})"
    return None


def _pair_problem(leaf: FieldCondition, left: Kind | None, right: Kind | None) -> str | None:
    if OPERATORS[leaf.op].text_only:
        for field, kind in ((leaf.field, left), (leaf.value_field, right)):
            if kind is not None and kind is not Kind.STRING:
                return f"{field} is a {kind.value}: {leaf.op} works on text"
        return None
    if left is None or right is None or left is right:
        return None
    return f"compares {leaf.field} ({left.value}) with {leaf.value_field} ({right.value}): never true"


def lint_stateful_rule(rule: RuleDefinition) -> list[Problem]:
    """A stateful rule's own problems as (JSON path, message); ``validate_rules`` adds the rule id."""
    problems = list(_pattern_problems(rule))
    problems += _lateness_problems(rule)
    if rule.machine is not None:
        problems += _machine_problems(rule.machine)
    for path, leaf in state_leaves(rule):
        for name, text in (("field", leaf.field), ("value_field", leaf.value_field)):
            part = state_field_part(text)
            if part is not NOT_STATE and part not in _ANY_READABLE_PART:
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
    return state_field_part(leaf.field) is not NOT_STATE or state_field_part(leaf.value_field) is not NOT_STATE


#: ``state_field_part`` of a field that does not read ``state.``.
NOT_STATE: Any = object()


def state_field_part(text: str | None) -> Any:
    """``None`` for ``state.<id>``, the part for ``state.<id>.<part>``, ``NOT_STATE`` otherwise."""
    if text is None:
        return NOT_STATE
    path = parse_field_path(text)
    if path.top != STATE_TOP:
        return NOT_STATE
    return path.keys[1] if len(path.keys) > 1 else None
