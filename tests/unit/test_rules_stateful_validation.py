"""Lint for stateful rules at write time: rule id, JSON path and message for every mistake."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.rules import InvalidRuleSet, RuleDefinition, compile_ruleset, validate_rules
from tests.unit.rule_scenarios import ACTION, rule

WINDOW = {"aggregate": "count", "size": "PT10M", "op": "ge", "value": 3}
MACHINE: dict[str, Any] = {
    "initial": "trial",
    "states": {"trial": {"on_enter": ACTION}, "active": {}, "churned": {}},
    "transitions": [{"from": "trial", "to": "active", "when": {"types": ["Shop/Purchase"]}}],
    "global": [{"to": "churned", "when": {"types": ["Account/Deleted"]}}],
}


def machine(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(MACHINE)
    spec.update(changes)
    return rule("life", machine=spec)


def errors_of(*rules: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(e.rule_id, e.path, e.message) for e in validate_rules(list(rules)).errors]


def only_error(*rules: dict[str, Any]) -> tuple[str, str]:
    (error,) = errors_of(*rules)
    return error[1], error[2]


def test_valid_stateful_rules_pass() -> None:
    reader = rule("reader", condition={"field": "state.life", "op": "in", "value": ["trial", "active"]})
    assert errors_of(machine(), rule("burst", window=WINDOW), reader) == []


@pytest.mark.parametrize(
    ("changes", "path", "message_part"),
    [
        ({"window": {**WINDOW, "size": "P400D"}}, "$.window.size", "state retention limit"),
        ({"window": {**WINDOW, "aggregate": "sum"}}, "$.window", "sum needs a field"),
        ({"window": {**WINDOW, "value": 500}}, "$.window", "value must be below 256"),
        ({"window": {**WINDOW, "op": "between"}}, "$.window.op", "Input should be"),
        ({"window": {**WINDOW, "field": "state.x"}}, "$.window.field", "not entity state"),
        ({"window": {**WINDOW, "size": "500ms"}}, "$.window.size", "at least 1 second"),
        ({"window": WINDOW, "sequence": {"steps": [{}, {}], "within": "PT1M"}}, "$.sequence", "one of window"),
        ({"sequence": {"steps": [{"types": ["A/a"]}], "within": "PT1M"}}, "$.sequence.steps", "at least 2"),
        ({"absence": {"after": {}, "missing": {}, "within": "P2Y"}}, "$.absence.within", "years and months"),
        ({"rearm": True, "absence": {"after": {}, "missing": {}, "within": "P1D"}}, "$.rearm", "can clear"),
        ({"allowed_lateness": "PT5M"}, "$.allowed_lateness", "applies to window"),
        ({"window": WINDOW, "allowed_lateness": "P8D"}, "$.allowed_lateness", "at most 7 days"),
        ({"window": {**WINDOW, "kind": "tumbling"}, "allowed_lateness": "PT3H"}, "$.allowed_lateness", "buckets open"),
        ({"max_per_period": {"count": 0, "period": "P1D"}}, "$.max_per_period.count", "greater than or equal to 1"),
        ({"condition": {"field": "state.life.bogus", "op": "exists"}}, "$.condition.field", "unknown part"),
        ({"action": {**ACTION, "contact_key": "{state.life}"}}, "$.action.contact_key", "entity state"),
    ],
)
def test_invalid_stateful_parts_report_path_and_reason(changes: dict[str, Any], path: str, message_part: str) -> None:
    error_path, message = only_error({**rule("r1"), **changes})
    assert error_path == path
    assert message_part in message


@pytest.mark.parametrize(
    ("changes", "path", "message_part"),
    [
        ({"initial": "new"}, "$.machine.initial", "unknown state 'new'"),
        (
            {"transitions": [{"from": "trail", "to": "active"}]},
            "$.machine.transitions[0].from",
            "unknown state 'trail'",
        ),
        ({"transitions": [{"from": ["trial", "x"], "to": "active"}]}, "$.machine.transitions[0].from[1]", "unknown"),
        ({"transitions": [{"from": "trial", "to": "actve"}]}, "$.machine.transitions[0].to", "unknown state"),
        ({"transitions": [{"from": "trial", "to": "trial"}]}, "$.machine.transitions[0]", "to itself"),
        ({"global": [{"to": "gone"}]}, "$.machine.global[0].to", "unknown state 'gone'"),
        ({"transitions": []}, "$.machine.states.active", "unreachable"),
        ({"states": {"Trial": {}}}, "$.machine.states", "must match"),
    ],
)
def test_machine_mistakes_are_named(changes: dict[str, Any], path: str, message_part: str) -> None:
    problems = errors_of(machine(**changes))
    assert (path, True) in [(p, message_part in m) for _, p, m in problems], problems


def test_machine_rules_have_no_action_or_suppression_of_their_own() -> None:
    problems = errors_of({**machine(), "action": ACTION, "cooldown": "P1D"})
    assert [p for _, p, _ in problems] == ["$.action", "$.cooldown"]


def test_other_rules_still_need_an_action() -> None:
    assert only_error({"id": "r1", "action": None}) == ("$.action", "required field is missing")


@pytest.mark.parametrize(
    ("condition", "path", "message_part"),
    [
        ({"field": "state.nobody", "op": "exists"}, "$.condition.field", "no rule 'nobody'"),
        ({"field": "state.plain", "op": "exists"}, "$.condition.field", "not a machine or window"),
        ({"field": "state.burst.since", "op": "exists"}, "$.condition.field", "a window has no part 'since'"),
        ({"field": "state.life", "op": "eq", "value": "actve"}, "$.condition.value", "'actve' is not a state"),
        (
            {"all": [{"field": "entity", "op": "exists"}, {"field": "time", "op": "gt", "value_field": "state.x"}]},
            "$.condition.all[1].value_field",
            "no rule 'x'",
        ),
    ],
)
def test_state_fields_must_name_a_machine_or_window_of_the_set(
    condition: dict[str, Any], path: str, message_part: str
) -> None:
    # GIVEN a machine, a window and a plain rule, and a reader with a bad reference
    others = [machine(), rule("burst", window=WINDOW), rule("plain")]
    checked = validate_rules([*others, rule("reader", condition=condition)])
    # THEN only the reader is rejected, at the leaf's path, with its position
    assert [(e.rule_id, e.path, e.index) for e in checked.errors] == [("reader", path, 3)]
    assert message_part in checked.errors[0].message
    assert [r.id for r in checked.rules] == ["life", "burst", "plain"]


def test_references_in_steps_and_transitions_are_checked_too() -> None:
    steps = [{"types": ["A/a"], "condition": {"field": "state.ghost", "op": "exists"}}, {"types": ["B/b"]}]
    problems = errors_of(rule("seq", sequence={"steps": steps, "within": "PT5M"}))
    assert problems[0][1] == "$.sequence.steps[0].condition.field"


def test_compile_refuses_rules_that_skipped_validation() -> None:
    broken = RuleDefinition.model_validate(rule("reader", condition={"field": "state.nobody", "op": "exists"}))
    with pytest.raises(InvalidRuleSet, match="no rule 'nobody'"):
        compile_ruleset([broken])
