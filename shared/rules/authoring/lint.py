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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from shared.rules.definitions.conditions import FieldCondition, condition_leaves
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.errors import OperandError, RuleError
from shared.rules.language.fields import TOP_LEVEL_FIELDS, parse_field_path
from shared.rules.language.operands import Kind, typed_literal
from shared.rules.language.operators import OPERATORS

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
