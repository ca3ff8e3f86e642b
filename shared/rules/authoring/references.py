"""Lint across rules: what only the whole rule set can tell about a stateful rule.

Every ``state.<id>`` field (in a condition or a pattern's filters) must name a machine or window
rule of the same set, read a part that kind of rule has (``READABLE_PARTS``), and compare a
machine's state with a name the machine has. Each problem is a ``RuleError`` with the rule id, a
JSON path and a message; what a rule means on its own is ``lint.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.rules.authoring.lint import NOT_STATE, READABLE_PARTS, state_field_part, state_leaves
from shared.rules.definitions.conditions import FieldCondition
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.errors import RuleError
from shared.rules.language.fields import parse_field_path
from shared.rules.language.operators import OPERATORS


def lint_state_references(rules: Sequence[RuleDefinition]) -> list[RuleError]:
    """Every ``state.<id>`` must name a machine or window of ``rules``, with a part and values it has."""
    by_id = {rule.id: rule for rule in rules}
    errors = []
    for index, rule in enumerate(rules):
        for path, leaf in state_leaves(rule):
            for name, text in (("field", leaf.field), ("value_field", leaf.value_field)):
                if text is not None and state_field_part(text) is not NOT_STATE:
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
    if kind not in READABLE_PARTS:
        return f"{text}: rule {target.id!r} is not a machine or window, so it has no readable state"
    part = path.keys[1] if len(path.keys) > 1 else None
    if part not in READABLE_PARTS[kind]:
        return f"{text}: a {kind} has no part {part!r}"
    return None


def _state_value_problem(leaf: FieldCondition, by_id: dict[str, RuleDefinition]) -> str | None:
    """``state.<machine> eq 'actve'``: a state name the machine does not have never matches."""
    if (
        not OPERATORS[leaf.op].state_ok
        or state_field_part(leaf.field) is not None
        or "value" not in leaf.model_fields_set
    ):
        return None
    target = by_id.get(parse_field_path(leaf.field).keys[0])
    if target is None or target.machine is None:
        return None
    names = leaf.value if isinstance(leaf.value, list) else [leaf.value]
    unknown = [name for name in names if name not in target.machine.states]
    if not unknown:
        return None
    return f"{unknown[0]!r} is not a state of machine {target.id!r} (states: {', '.join(target.machine.states)})"
