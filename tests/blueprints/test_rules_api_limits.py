"""The rules API holds bodies to the rule-input limits (docs/rules.md, "Limits"): 4xx, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.blueprints.rules_api_client import call

TOO_DEEP = "at most 100 levels of mappings and lists are allowed"


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "action": {"kind": "journey_entry", "event_definition_key": "K"}, **fields}


@pytest.mark.parametrize("operation", ["put_rule", "validate_ruleset", "dry_run_rules"])
def test_a_body_nested_100000_levels_is_a_bad_request_naming_the_limit(store_path: Path, operation: str) -> None:
    # GIVEN a JSON body nested 10^5 levels (json.loads alone raises RecursionError: a 500)
    body = b'{"rules": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    # WHEN posted  THEN 400, and the detail names the limit
    answer = call(operation, route_params={"rule_id": "deep"}, raw_body=body)
    assert answer.status == 400, answer.body
    assert answer.body["detail"] == f"request body is not valid JSON: nested too deeply (100001 levels): {TOO_DEEP}"


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e999"])
def test_nan_or_infinity_in_a_body_is_a_bad_request(store_path: Path, literal: bytes) -> None:
    body = b'{"action": {"kind": "journey_entry", "event_definition_key": "K", "data": {"S": ' + literal + b"}}}"
    answer = call("put_rule", route_params={"rule_id": "r"}, raw_body=body)
    assert answer.status == 400
    assert "NaN and Infinity are not JSON numbers" in answer.body["detail"]


def test_a_rule_with_a_pattern_re2_refuses_is_unprocessable(store_path: Path) -> None:
    # GIVEN a rule whose regular expression needs backtracking  WHEN put  THEN 422 with RE2's reason
    bad = rule("r", condition={"field": "entity", "op": "matches", "value": "^(?=.*@)"})
    answer = call("put_rule", route_params={"rule_id": "r"}, body=bad)
    assert answer.status == 422
    [error] = answer.body["errors"]
    assert (error["path"], error["message"]) == (
        "$.condition.value",
        "invalid regular expression for RE2 (linear-time matching): invalid perl operator: (?= "
        "(look-around is not supported)",
    )


def test_a_put_that_would_grow_the_rule_set_past_its_size_is_unprocessable(store_path: Path) -> None:
    # GIVEN a stored rule set just under the limit
    big = [rule(f"r{i}", description="x" * 100_000) for i in range(14)]
    assert call("validate_ruleset", body=big).status == 200
    for item in big:
        assert call("put_rule", route_params={"rule_id": item["id"]}, body=item).status == 201
    # WHEN one more large rule is put  THEN 422 for the set as a whole, nothing stored
    extra = rule("r14", description="x" * 100_000)
    answer = call("put_rule", route_params={"rule_id": "r14"}, body=extra)
    assert answer.status == 422
    [error] = answer.body["errors"]
    assert error["path"] == "$" and "at most 1,500,000 can be stored" in error["message"]
    assert call("get_rule", route_params={"rule_id": "r14"}).status == 404
