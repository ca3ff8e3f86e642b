"""``validate_rules``: raw rule mappings in, valid ``RuleDefinition`` objects and precise errors out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from shared.rules.authoring.destinations import DestinationCatalog, check_destinations
from shared.rules.authoring.limits import raw_rule_problem
from shared.rules.authoring.lint import lint_rule, lint_stateful_rule
from shared.rules.authoring.references import lint_state_references
from shared.rules.definitions.actions import ACTION_KINDS
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.errors import RuleError


@dataclass(slots=True)
class RuleValidation:
    """The rules that passed (in input order) and every problem found in the others."""

    rules: list[RuleDefinition] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_rules(
    raw: Sequence[Mapping[str, Any]], *, destinations: DestinationCatalog | None = None
) -> RuleValidation:
    """Validate each rule on its own, then the set (ids must be unique). Never raises for bad input.

    Each rule is first held to ``limits.py`` (nesting, data JSON can carry), then to the schema.
    ``destinations``: the destination names configured per action kind; an action naming another is
    an error that lists them (``None``: names are not checked).
    """
    result = RuleValidation()
    seen_ids: set[str] = set()
    positions: dict[str, int] = {}
    for index, candidate in enumerate(raw):
        rule_id = _claimed_id(candidate)
        if not isinstance(candidate, Mapping):
            result.errors.append(RuleError(None, "$", "a rule must be a mapping", index))
            continue
        if bounds_problem := raw_rule_problem(dict(candidate)):  # limits.py: depth, JSON data, no NaN
            result.errors.append(RuleError(rule_id, *bounds_problem, index))
            continue
        try:
            rule = RuleDefinition.model_validate(dict(candidate))
        except ValidationError as exc:
            result.errors.extend(
                RuleError(rule_id, _path_of(error), error_message(error), index) for error in exc.errors()
            )
            continue
        except RecursionError:
            result.errors.append(RuleError(rule_id, "$.condition", "condition is nested too deeply", index))
            continue
        if lint_problems := lint_rule(rule, index=index):  # lint.py: what the schema cannot see
            result.errors.extend(lint_problems)
            continue
        if stateful_problems := lint_stateful_rule(rule):
            result.errors.extend(RuleError(rule.id, path, message, index) for path, message in stateful_problems)
            continue
        if destination_problems := check_destinations(rule, destinations, index):
            result.errors.extend(destination_problems)
            continue
        if rule.id in seen_ids:
            result.errors.append(RuleError(rule.id, "$.id", f"duplicate rule id {rule.id!r}", index))
            continue
        seen_ids.add(rule.id)
        result.rules.append(rule)
        positions[rule.id] = index
    _check_references(result, positions)
    return result


def lint_stateful_rules(rules: Sequence[RuleDefinition]) -> list[RuleError]:
    """Every rule's own stateful problems, then the references between rules (``compile_ruleset``'s check)."""
    errors = [
        RuleError(rule.id, path, message, index)
        for index, rule in enumerate(rules)
        for path, message in lint_stateful_rule(rule)
    ]
    return errors + lint_state_references(rules)


def _check_references(result: RuleValidation, positions: dict[str, int]) -> None:
    """``state.<id>`` fields across the valid rules; a rule with a bad reference is not valid."""
    problems = lint_state_references(result.rules)
    for problem in problems:
        result.errors.append(RuleError(problem.rule_id, problem.path, problem.message, positions[str(problem.rule_id)]))
    rejected = {problem.rule_id for problem in problems}
    result.rules = [rule for rule in result.rules if rule.id not in rejected]


def _claimed_id(candidate: Any) -> str | None:
    if isinstance(candidate, Mapping) and isinstance(candidate.get("id"), str):
        return str(candidate["id"])
    return None


def _path_of(error: ErrorDetails) -> str:
    """Where the error is; an unknown action kind is reported at the ``kind`` it names."""
    path = error_path(error["loc"])
    return f"{path}.kind" if error["type"] == "union_tag_invalid" else path


def error_path(loc: tuple[int | str, ...]) -> str:
    """``('condition', '<all>', 'all', 1, '<field>', 'op')`` -> ``$.condition.all[1].op``."""
    path = "$"
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith("<") and not _action_tag(previous, part):  # discriminator tags
            path += f".{part}"
        previous = part
    return path


def _action_tag(previous: int | str | None, part: str) -> bool:
    """An action's ``kind`` in the location of its error (``action.webhook.destination``)."""
    return previous in ("action", "on_enter") and part in ACTION_KINDS


def error_message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown field {error['loc'][-1]!r}"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        tag = error["input"].get("kind") if isinstance(error["input"], dict) else None
        return f"unknown action kind {tag!r}; expected one of {', '.join(ACTION_KINDS)}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == "string_pattern_mismatch" and error["loc"] == ("id",):
        return "rule id must match [a-z0-9][a-z0-9_.-]* (lower case, digits, '-', '_', '.')"
    return error["msg"]
