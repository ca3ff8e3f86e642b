"""Versions over HTTP (``GET /api/rules?version=N``, ``GET /api/rule-versions``, ``POST
/api/rule-versions/{version}/rollback``) and the caller mistakes that once answered 500.

Every answer is checked against openapi/rules-api.yaml by ``rules_api_client.call``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.blueprints.rules_api_client import call
from tests.blueprints.test_rules_api import COPILOT_RULE, TEAMS_RULE, canonical_event, put, stored


@pytest.fixture
def db(store_path: Path) -> Path:
    """The SQLite store the app runs on (``store_path`` in conftest.py)."""
    return store_path


@pytest.fixture
def three_versions(db: Path) -> Path:
    """Version 1: teams; 2: teams + copilot; 3: copilot only."""
    put(TEAMS_RULE)
    put(COPILOT_RULE)
    assert call("delete_rule", route_params={"rule_id": TEAMS_RULE["id"]}).status == 200
    return db


def rollback(version: str, **kwargs: object):
    return call("rollback_rules", route_params={"version": version}, **kwargs)  # type: ignore[arg-type]


# --- versions -----------------------------------------------------------------------------------


def test_get_rules_with_a_version_answers_that_version(three_versions: Path) -> None:
    answer = call("list_rules", params={"version": "1"})
    assert (answer.status, answer.body) == (200, {"ruleset": "default", "version": 1, "rules": [TEAMS_RULE]})
    assert answer.headers["ETag"] == '"1"'
    # AND without it, the newest
    assert call("list_rules").body["version"] == 3


@pytest.mark.parametrize("version", ["0", "4", "999999999999999"])
def test_get_rules_with_a_version_never_stored_is_not_found(three_versions: Path, version: str) -> None:
    answer = call("list_rules", params={"version": version})
    assert (answer.status, answer.body["type"]) == (404, "urn:squall:problem:version-not-found")
    assert "versions 1-3 are stored" in answer.body["detail"]


@pytest.mark.parametrize("version", ["-1", "one", "²", "1.0", "9" * 5000])
def test_a_version_that_is_not_a_number_is_a_bad_request(three_versions: Path, version: str) -> None:
    answer = call("list_rules", params={"version": version})
    assert (answer.status, answer.body["type"]) == (400, "urn:squall:problem:bad-request")
    assert rollback(version).status == 400


def test_history_lists_versions_newest_first_with_what_changed(three_versions: Path) -> None:
    answer = call("list_rule_versions")
    assert answer.status == 200
    assert answer.headers["ETag"] == '"3"'
    assert [(v["version"], v["rules"], v["added"], v["removed"], v["changed"]) for v in answer.body["versions"]] == [
        (3, 1, [], ["teams-session"], []),
        (2, 2, ["copilot-use"], [], []),
        (1, 1, ["teams-session"], [], []),
    ]
    assert [v["version"] for v in call("list_rule_versions", params={"limit": "1"}).body["versions"]] == [3]


def test_rollback_stores_the_old_rules_as_a_new_version(three_versions: Path) -> None:
    # WHEN version 2 is rolled back to, based on version 3
    answer = rollback("2", headers={"If-Match": '"3"'})
    # THEN version 4 holds version 2's rules; versions 1-3 are as they were
    assert answer.status == 200
    assert answer.body == {"ruleset": "default", "version": 4, "restored_version": 2, "changed": True,
                           "diff": {"added": ["teams-session"], "removed": [], "changed": []}}  # fmt: skip
    assert answer.headers["ETag"] == '"4"'
    assert stored(three_versions) == (4, [TEAMS_RULE, COPILOT_RULE])
    assert call("list_rules", params={"version": "3"}).body["rules"] == [COPILOT_RULE]


def test_rollback_with_a_stale_if_match_or_unknown_version_stores_nothing(three_versions: Path) -> None:
    stale = rollback("1", headers={"If-Match": '"2"'})
    assert (stale.status, stale.body["current_version"]) == (412, 3)
    missing = rollback("9")
    assert (missing.status, missing.body["type"]) == (404, "urn:squall:problem:version-not-found")
    assert stored(three_versions)[0] == 3


# --- caller mistakes that answered 500 ----------------------------------------------------------


@pytest.mark.parametrize("if_match", ['"²"', "²", '"' + "9" * 5000 + '"', '"1\u0660"', 'W/"x"', '""'])
def test_a_malformed_if_match_is_400_never_500(three_versions: Path, if_match: str) -> None:
    answer = put(TEAMS_RULE, headers={"If-Match": if_match})
    assert (answer.status, answer.body["type"]) == (400, "urn:squall:problem:bad-request")
    assert len(answer.body["detail"]) < 200


@pytest.mark.parametrize("depth", [101, 5_000, 100_000])
@pytest.mark.parametrize("operation", ["put_rule", "validate_ruleset", "dry_run_rules"])
def test_deeply_nested_json_is_400_never_500(db: Path, depth: int, operation: str) -> None:
    body = b"[" * depth + b"]" * depth
    answer = call(operation, route_params={"rule_id": "deep"}, raw_body=body)
    assert answer.status == 400
    assert "nested too deeply" in answer.body["detail"] and "at most 100 levels" in answer.body["detail"]


def test_nesting_up_to_the_limit_is_read(db: Path) -> None:
    answer = call("dry_run_rules", raw_body=json.dumps({"events": [[[[]]]], "rules": []}).encode())
    assert answer.status == 200


@pytest.mark.parametrize(
    "raw",
    [
        b'{"events": ["\\ud800"]}',
        b'{"events": [{"id": "\\udfff", "source": "o365"}]}',
        b'{"events": [], "rules": [{"id": "x", "\\ud800": 1}]}',
    ],
)
def test_a_lone_surrogate_in_a_dry_run_is_400_never_500(db: Path, raw: bytes) -> None:
    answer = call("dry_run_rules", raw_body=raw)
    assert answer.status == 400
    assert "lone surrogate" in answer.body["detail"]


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"[" + b"9" * 5000 + b"]", "not valid JSON"),
        (b'{"events": [NaN]}', "are not JSON numbers"),
        (b'{"events": [-Infinity]}', "are not JSON numbers"),
        (b'{"events": ["\xc3\x28"]}', "not UTF-8"),
    ],
)
def test_bodies_json_cannot_carry_are_400_never_500(db: Path, raw: bytes, detail: str) -> None:
    answer = call("dry_run_rules", raw_body=raw)
    assert answer.status == 400
    assert detail in answer.body["detail"]


def test_a_surrogate_free_dry_run_still_evaluates(db: Path) -> None:
    put(TEAMS_RULE)
    event = canonical_event("e-\u00e9\U0001f600", "ana@contoso.com", "2026-01-01T00:00:00Z")
    answer = call("dry_run_rules", body={"events": [event]})
    assert (answer.status, answer.body["firing_count"]) == (200, 1)


# --- the generated schemas describe what GET answers ----------------------------------------------


def test_get_rules_output_for_every_documented_rule_kind_validates_against_the_generated_schemas(db: Path) -> None:
    from jsonschema import Draft202012Validator

    from squall.schemas import EDITOR_SCHEMA_PATH
    from tests.unit.test_generated_schemas import every_rule_kind

    # GIVEN every rule kind docs/rules.md documents, stored through the API as one rule set
    rules = every_rule_kind()
    for rule in rules:
        body = {key: value for key, value in rule.items() if key != "id"}
        assert call("put_rule", route_params={"rule_id": rule["id"]}, body=body).status in (200, 201)
    # WHEN the rule set is read (call() validates it against the OpenAPI RuleSet -> StoredRule schema)
    answer = call("list_rules")
    # THEN it holds them all, and each validates against the editor schema too
    assert answer.status == 200
    assert {rule["id"] for rule in answer.body["rules"]} == {rule["id"] for rule in rules}
    editor = Draft202012Validator(json.loads(EDITOR_SCHEMA_PATH.read_text(encoding="utf-8")))
    assert [error.message for error in editor.iter_errors(answer.body["rules"])] == []
    patterns = ("window", "sequence", "absence", "machine")
    assert {key for rule in answer.body["rules"] for key in patterns if key in rule} == set(patterns)
