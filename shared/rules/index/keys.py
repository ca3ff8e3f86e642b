"""Dispatch keys: the top-level string tests of a condition that the index can look up instead of check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.rules.definitions.conditions import AllCondition, Condition, FieldCondition
from shared.rules.language.operands import Kind, kind_of

DispatchKind = Literal["equals", "prefix", "suffix"]


@dataclass(frozen=True, slots=True)
class DispatchKey:
    """A top-level test the index can look up instead of checking: equality with strings (``eq``,
    ``in``) or a string prefix/suffix (``starts_with``, ``ends_with``) on one field."""

    field: str
    values: frozenset[str]
    residual: Condition | None  # the rest of the condition once the key has matched
    kind: DispatchKind = "equals"


def dispatch_keys(condition: Condition | None) -> list[DispatchKey]:
    """Every dispatchable leaf at the top of ``condition`` (the first one per field and kind)."""
    if isinstance(condition, FieldCondition):
        found = _dispatchable(condition)
        return [DispatchKey(condition.field, found[1], None, found[0])] if found else []
    keys: dict[tuple[str, str], DispatchKey] = {}
    if isinstance(condition, AllCondition):
        for position, child in enumerate(condition.all):
            found = _dispatchable(child) if isinstance(child, FieldCondition) else None
            if found is None or (child.field, found[0]) in keys:  # type: ignore[union-attr]
                continue
            assert isinstance(child, FieldCondition)
            rest = condition.all[:position] + condition.all[position + 1 :]
            residual = AllCondition(all=rest) if rest else None
            keys[(child.field, found[0])] = DispatchKey(child.field, found[1], residual, found[0])
    return list(keys.values())


def _dispatchable(leaf: FieldCondition) -> tuple[DispatchKind, frozenset[str]] | None:
    if leaf.value_field is not None:
        return None
    if leaf.op in ("starts_with", "ends_with"):
        affixes = leaf.value if isinstance(leaf.value, list) else [leaf.value]
        if affixes and all(isinstance(affix, str) and affix for affix in affixes):
            return ("prefix" if leaf.op == "starts_with" else "suffix"), frozenset(affixes)
        return None
    literals = [leaf.value] if leaf.op == "eq" else leaf.value if leaf.op == "in" else None
    if not literals or not all(isinstance(v, str) and kind_of(v) is Kind.STRING for v in literals):
        return None
    return "equals", frozenset(literals)
