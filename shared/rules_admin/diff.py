"""``diff_rulesets``: what replacing one rule set by another would change, rule by rule.

Rules are matched by ``id`` and compared as the data they are stored as: a rule is unchanged when
its definition is equal (key order and list position in the set do not matter — evaluation order
comes from ``priority`` and ``id``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.rules_admin.models import RuleChange, RuleSetDiff


def diff_rulesets(current: Sequence[Mapping[str, Any]], proposed: Sequence[Mapping[str, Any]]) -> RuleSetDiff:
    """Added, removed, changed (with the top-level fields that differ) and unchanged rule ids."""
    before = _by_id(current)
    after = _by_id(proposed)
    changed = [
        RuleChange(rule_id, changed_fields(before[rule_id], after[rule_id]))
        for rule_id in sorted(before.keys() & after.keys())
        if before[rule_id] != after[rule_id]
    ]
    return RuleSetDiff(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(changed),
        unchanged=tuple(
            sorted(rule_id for rule_id in before.keys() & after.keys() if before[rule_id] == after[rule_id])
        ),
    )


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level fields whose values differ (a field present on one side only counts)."""
    missing = object()
    return tuple(
        sorted(name for name in before.keys() | after.keys() if before.get(name, missing) != after.get(name, missing))
    )


def _by_id(rules: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Rules by id; a rule without a string id (a damaged store) is keyed by its position."""
    found: dict[str, Mapping[str, Any]] = {}
    for position, rule in enumerate(rules):
        rule_id = rule.get("id") if isinstance(rule, Mapping) else None
        found[rule_id if isinstance(rule_id, str) else f"#{position}"] = rule
    return found
