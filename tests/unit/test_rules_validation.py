"""validate_rules: valid rules pass; every problem comes back with the rule id, a JSON path and a reason."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from shared.rules import RuleError, validate_rules

VALID: dict[str, Any] = {
    "id": "teams-first-session",
    "description": "First Teams session of a user -> Teams adoption journey",
    "enabled": True,
    "priority": 100,
    "when": {"source": "o365", "types": ["MicrosoftTeams/TeamsSessionStarted"]},
    "condition": {
        "all": [
            {"field": "attributes.result_status", "op": "eq", "value": "succeeded"},
            {"field": "attributes.client_ip", "op": "exists"},
            {"not": {"field": "entity", "op": "ends_with", "value": "#EXT#"}},
        ]
    },
    "cooldown": "P30D",
    "stop_after_match": False,
    "action": {
        "kind": "journey_entry",
        "event_definition_key": "APIEvent-teams-adoption",
        "contact_key": "{entity}",
        "data": {"Workload": "{attributes.workload}", "Tenant": "{tenant}", "EventTime": "{time}"},
    },
}


def with_changes(path: str, value: Any) -> dict[str, Any]:
    """A copy of VALID with the dotted ``path`` (``condition.all.1.op``) set to ``value``."""
    rule = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: Any = rule
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return rule


def only_error(raw: dict[str, Any]) -> RuleError:
    checked = validate_rules([raw])
    assert checked.rules == []
    assert len(checked.errors) == 1, checked.errors
    return checked.errors[0]


def test_the_documented_example_rule_is_valid() -> None:
    # GIVEN the rule from the rule language reference  WHEN validated
    checked = validate_rules([VALID])
    # THEN it passes, with its cool-down as a real duration
    assert checked.errors == []
    assert checked.rules[0].cooldown == timedelta(days=30)
    assert checked.ok


@pytest.mark.parametrize(
    ("change_path", "value", "error_path", "message_part"),
    [
        ("color", "blue", "$.color", "unknown field 'color'"),
        ("condition.all.1.opp", "x", "$.condition.all[1].opp", "unknown field 'opp'"),
        ("action.ContactKey", "x", "$.action.ContactKey", "unknown field"),
        ("condition.all.0.op", "equals", "$.condition.all[0].op", "unknown operator 'equals'"),
        (
            "condition.all.0",
            {"field": "attributes.x", "op": "matches", "value": "(unclosed"},
            "$.condition.all[0].value",
            "invalid regular expression",
        ),
        ("cooldown", "P1Y", "$.cooldown", "years and months"),
        ("cooldown", "soon", "$.cooldown", "invalid duration 'soon'"),
        ("cooldown", "PT0S", "$.cooldown", "longer than zero"),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "between", "value": [1]},
            "$.condition.all[0].value",
            "between needs a list of two values",
        ),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "between", "value": [5, 1]},
            "$.condition.all[0].value",
            "low <= high",
        ),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "in", "value": "Send"},
            "$.condition.all[0].value",
            "in needs a non-empty list",
        ),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "lt", "value": True},
            "$.condition.all[0].value",
            "lt needs a number, an ISO 8601 datetime or duration",
        ),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "gt", "value": "abc"},
            "$.condition.all[0].value",
            "gt needs a number",
        ),
        (
            "condition.all.0",
            {"field": "time", "op": "lt", "value": 5},
            "$.condition.all[0].value",
            "datetime field needs an ISO 8601 datetime",
        ),
        (
            "condition.all.0",
            {"field": "time", "op": "starts_with", "value": "2024"},
            "$.condition.all[0].value",
            "starts_with works on text or arrays",
        ),
        (
            "condition.all.0",
            {"field": "time", "op": "ge", "value": "2024-02-30"},
            "$.condition.all[0].value",
            "invalid datetime",
        ),
        ("condition.all.0", {"field": "attributes.n", "op": "eq"}, "$.condition.all[0]", "eq needs a value"),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "eq", "value": None},
            "$.condition.all[0].value",
            "must not be null",
        ),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "eq", "value": 1, "value_field": "entity"},
            "$.condition.all[0]",
            "either value or value_field",
        ),
        (
            "condition.all.0",
            {"field": "attributes.n", "op": "matches", "value_field": "entity"},
            "$.condition.all[0]",
            "matches cannot compare two fields",
        ),
        (
            "condition.all.0",
            {"field": "user.name", "op": "eq", "value": "x"},
            "$.condition.all[0].field",
            "invalid field path 'user.name'",
        ),
        (
            "condition.all.0",
            {"field": "attributes", "op": "exists"},
            "$.condition.all[0].field",
            "invalid field path",
        ),
        (
            "condition.all.0",
            {"field": "attributes.a", "op": "eq", "value_field": "attributes..b"},
            "$.condition.all[0].value_field",
            "invalid field path",
        ),
        ("condition.all.2.not", {"all": []}, "$.condition.all[2].not.all", "at least 1 item"),
        (
            "condition.all.1",
            {"all": [], "field": "x"},
            "$.condition.all[1]",
            "exactly one of: all, any, not, field",
        ),
        ("condition.all.1", "entity eq x", "$.condition.all[1]", "a condition must be a mapping"),
        ("when.types", ["MicrosoftTeams/*/x*"], "$.when.types", "invalid type pattern"),
        ("when.types", [], "$.when.types", "at least 1 item"),
        ("when.source", "o356", "$.when.source", "'o365'"),
        ("priority", "100", "$.priority", "valid integer"),
        ("enabled", "yes", "$.enabled", "valid boolean"),
        ("id", "Teams First", "$.id", "rule id must match"),
        ("action.kind", "email", "$.action.kind", "unknown action kind 'email'; expected one of journey_entry"),
        ("action.event_definition_key", "", "$.action.event_definition_key", "at least 1 character"),
        ("action.contact_key", "{user}", "$.action.contact_key", "invalid field path 'user'"),
        ("action.contact_key", "{entity", "$.action.contact_key", "invalid template"),
        # not text: once a TypeError from the template parser (a 500 from the rules API)
        ("action.contact_key", None, "$.action.contact_key", "valid string"),
        ("action.contact_key", ["{entity}"], "$.action.contact_key", "valid string"),
        ("action.contact_key", 7, "$.action.contact_key", "valid string"),
        ("action.data.Tenant", "{tenant!r}", "$.action.data", "data.Tenant: invalid template"),
    ],
)
def test_invalid_rule_reports_path_and_reason(
    change_path: str, value: Any, error_path: str, message_part: str
) -> None:
    # GIVEN the valid rule with one mistake  WHEN validated
    error = only_error(with_changes(change_path, value))
    # THEN exactly one error points at the mistake and explains it
    assert error.path == error_path
    assert message_part in error.message
    assert error.index == 0


def test_error_names_the_rule_id_when_it_has_one() -> None:
    error = only_error(with_changes("cooldown", "forever"))
    assert error.rule_id == "teams-first-session"
    assert str(error).startswith("teams-first-session  $.cooldown  invalid duration")


def test_missing_required_fields_are_each_reported() -> None:
    # GIVEN a rule without id and action  WHEN validated
    checked = validate_rules([{"description": "nothing else"}])
    # THEN both are named, with no rule id to show
    assert sorted((e.path, e.message) for e in checked.errors) == [
        ("$.action", "required field is missing"),
        ("$.id", "required field is missing"),
    ]
    assert {e.rule_id for e in checked.errors} == {None}


def test_duplicate_rule_id_is_an_error_on_the_second_rule_only() -> None:
    # GIVEN two rules with one id
    checked = validate_rules([VALID, with_changes("priority", 5)])
    # THEN the first is kept and the second rejected at $.id
    assert [rule.priority for rule in checked.rules] == [100]
    assert [(e.rule_id, e.path, e.index) for e in checked.errors] == [("teams-first-session", "$.id", 1)]
    assert "duplicate rule id" in checked.errors[0].message


def test_one_bad_rule_does_not_hide_the_good_ones() -> None:
    other = with_changes("id", "other-rule")
    checked = validate_rules([with_changes("cooldown", "x"), other])
    assert [rule.id for rule in checked.rules] == ["other-rule"]
    assert [e.index for e in checked.errors] == [0]


def test_a_rule_that_is_not_a_mapping_is_an_error_not_a_crash() -> None:
    checked = validate_rules([["not", "a", "rule"]])  # type: ignore[list-item]
    assert [(e.path, e.message) for e in checked.errors] == [("$", "a rule must be a mapping")]


def test_deeply_nested_condition_is_rejected_without_recursion_error() -> None:
    # GIVEN a condition nested 5000 levels deep
    condition: dict[str, Any] = {"field": "entity", "op": "exists"}
    for _ in range(5000):
        condition = {"not": condition}
    # WHEN validated THEN one clear error at the field, naming the documented limit
    error = only_error(with_changes("condition", condition))
    assert (error.path, error.message) == (
        "$.condition",
        "nested too deeply: at most 100 levels of mappings and lists are allowed",
    )


def test_a_condition_within_the_nesting_limit_still_gets_the_32_level_condition_limit() -> None:
    # GIVEN a condition of 40 nested `not`s (41 levels of mappings: inside the document limit)
    condition: dict[str, Any] = {"field": "entity", "op": "exists"}
    for _ in range(40):
        condition = {"not": condition}
    # WHEN validated THEN the condition's own limit speaks
    assert "nested deeper than 32 levels" in only_error(with_changes("condition", condition)).message


def test_minimal_rule_gets_defaults() -> None:
    checked = validate_rules([{"id": "r", "action": {"kind": "journey_entry", "event_definition_key": "K"}}])
    (rule,) = checked.rules
    assert (rule.enabled, rule.priority, rule.condition, rule.cooldown, rule.stop_after_match) == (
        True,
        0,
        None,
        None,
        False,
    )
    assert rule.action.contact_key == "{entity}"
    assert rule.when.types is None


@pytest.mark.parametrize("text", ["P30D", "PT5M", "P1DT12H", "P2W", "30d", "12h", "15m", "90s"])
def test_cooldown_accepts_iso_and_short_durations(text: str) -> None:
    assert validate_rules([with_changes("cooldown", text)]).ok
