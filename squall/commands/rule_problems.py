"""A rule problem as the rules commands print it: one line of text, or a JSON object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.rules import LoadedRule, RuleError


def describe_rule_error(error: RuleError, loaded: Sequence[LoadedRule]) -> str:
    """``rule_id  path  message  (file:line)``, as ``squall rules validate`` prints it."""
    line = f"{error.rule_id or '-'}  {error.path}  {error.message}"
    origin = _origin(error, loaded)
    if origin is None:
        return line
    return f"{line}  ({origin.file}:{origin.line})" if origin.line else f"{line}  ({origin.file})"


def rule_error_json(error: RuleError, loaded: Sequence[LoadedRule]) -> dict[str, Any]:
    """``{"rule_id", "path", "message", "file", "line"}``: the problem and where the rule came from."""
    origin = _origin(error, loaded)
    return {
        "rule_id": error.rule_id,
        "path": error.path,
        "message": error.message,
        "file": None if origin is None else str(origin.file),
        "line": None if origin is None else origin.line,
    }


def _origin(error: RuleError, loaded: Sequence[LoadedRule]) -> LoadedRule | None:
    return loaded[error.index] if error.index is not None and error.index < len(loaded) else None
