"""Rules are stored as JSON: find a value that JSON cannot hold (YAML's ``!!binary``, ``!!set``,
``!!timestamp``, ``.nan``) before a store is asked to save it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shared.rules import RuleError

_SCALARS = (str, int, bool, type(None))


def non_json_errors(rules: Sequence[Any]) -> list[RuleError]:
    """One error per rule holding a value that is not JSON data (the first such value's path)."""
    errors = []
    for index, rule in enumerate(rules):
        path = first_non_json_path(rule)
        if path is not None:
            rule_id = rule.get("id") if isinstance(rule, dict) and isinstance(rule.get("id"), str) else None
            errors.append(
                RuleError(
                    rule_id,
                    path,
                    "value is not JSON data (text, number, true/false, null, list or mapping with text keys)",
                    index,
                )
            )
    return errors


def first_non_json_path(value: Any, path: str = "$") -> str | None:
    """The path of the first value JSON cannot represent, or ``None`` when all of it is JSON data."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                return where
        elif isinstance(node, dict):
            for key, item in reversed(list(node.items())):
                if not isinstance(key, str):
                    return where
                stack.append((item, f"{where}.{key}"))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{i}]") for i, item in reversed(list(enumerate(node))))
        elif not isinstance(node, _SCALARS):
            return where
    return None
