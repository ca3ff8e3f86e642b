"""The rules HTTP functions, called as the worker calls them, over a real SQLite store.

Every answer is also checked against openapi/rules-api.yaml (status, media type, body schema) by
``rules_api_client.call``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.settings import get_settings
from shared.store.sqlite import SqliteStore
from tests.blueprints.rules_api_client import (
    ROOT,
    call,
    http_trigger,
    openapi,
    registered_functions,
)

TEAMS_RULE: dict[str, Any] = {
    "id": "teams-session",
    "description": "Teams session -> adoption journey",
    "when": {"source": "o365", "types": ["MicrosoftTeams/TeamsSessionStarted"]},
    "condition": {"field": "attributes.user_type", "op": "eq", "value": "regular"},
    "cooldown": "P30D",
    "action": {
        "kind": "journey_entry",
        "event_definition_key": "APIEvent-teams-adoption",
        "contact_key": "{entity}",
        "data": {"Workload": "{attributes.workload}"},
    },
}
COPILOT_RULE: dict[str, Any] = {
    "id": "copilot-use",
    "when": {"types": ["Copilot/*"]},
    "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-copilot"},
}


def fixture_record(name: str, operation: str) -> dict[str, Any]:
    for line in (ROOT / "tests" / "fixtures" / name).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("Operation") == operation:
            return record
    raise LookupError(operation)


def canonical_event(event_id: str, entity: str, time: str, event_type: str = "MicrosoftTeams/TeamsSessionStarted"):
    return {
        "id": event_id,
        "source": "o365",
        "type": event_type,
        "time": time,
        "entity": entity,
        "attributes": {"user_type": "regular", "workload": "MicrosoftTeams"},
    }


def stored(db: Path, ruleset: str = "default") -> tuple[int, list[dict[str, Any]]]:
    store = SqliteStore(db)
    try:
        version = asyncio.run(store.rules.ruleset_version(ruleset))
        rules = asyncio.run(store.rules.load_ruleset(ruleset)).rules if version else []
        return version, rules
    finally:
        asyncio.run(store.close())


def put(rule: dict[str, Any], **kwargs: Any):
    return call("put_rule", route_params={"rule_id": rule["id"]}, body=rule, **kwargs)


# --- the contract -------------------------------------------------------------------------------


def test_openapi_document_and_registered_routes_name_the_same_operations() -> None:
    # GIVEN the OpenAPI document and the functions the blueprint registers
    documented = {
        (path, method.upper(), op["operationId"])
        for path, item in openapi()["paths"].items()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }
    # WHEN each function's HTTP trigger is read
    served = {
        ("/" + http_trigger(f)["route"], func.HttpMethod(method).value, name)
        for name, f in registered_functions().items()
        for method in http_trigger(f)["methods"]
    }
    # THEN every documented path+method is served by the function named by its operationId, and vice versa
    assert served == documented


def test_every_route_requires_a_function_key() -> None:
    levels = {name: http_trigger(f)["authLevel"] for name, f in registered_functions().items()}
    assert set(levels.values()) == {func.AuthLevel.FUNCTION}, levels


def test_no_two_routes_can_answer_the_same_request() -> None:
    # GIVEN the host orders routes by function name, not by specificity (azure-functions-host#9876)
    routes = [(http_trigger(f)["route"], func.HttpMethod(m).value) for f in registered_functions().values()
              for m in http_trigger(f)["methods"]]
    # THEN a literal route and a parameter route at the same depth never share a method
    literal = {(r.split("/")[0], len(r.split("/")), m) for r, m in routes if "{" not in r}
    templated = {(r.split("/")[0], len(r.split("/")), m) for r, m in routes if "{" in r}
    assert literal & templated == set()


# --- list, get, put, delete ---------------------------------------------------------------------


def test_listing_an_empty_store_answers_version_0_and_no_rules(store_path: Path) -> None:
    answer = call("list_rules")
    assert (answer.status, answer.body) == (200, {"ruleset": "default", "version": 0, "rules": []})
    assert answer.headers["ETag"] == '"0"'


def test_putting_a_new_rule_creates_version_1_and_it_can_be_read_back(store_path: Path) -> None:
    # WHEN a new rule is put
    created = put(TEAMS_RULE)
    # THEN 201 with the new version, and the store holds exactly that rule
    assert created.status == 201
    assert created.body == {"ruleset": "default", "version": 1, "rule_id": "teams-session",
                            "created": True, "changed": True}
    assert created.headers["ETag"] == '"1"'
    assert stored(store_path) == (1, [TEAMS_RULE])
    # AND get and list return it
    got = call("get_rule", route_params={"rule_id": "teams-session"})
    assert (got.status, got.body["rule"], got.headers["ETag"]) == (200, TEAMS_RULE, '"1"')
    assert call("list_rules").body["rules"] == [TEAMS_RULE]


def test_putting_the_same_rule_again_stores_no_new_version(store_path: Path) -> None:
    put(TEAMS_RULE)
    again = put(TEAMS_RULE)
    assert (again.status, again.body["version"], again.body["changed"], again.body["created"]) == (
        200, 1, False, False)
    assert stored(store_path)[0] == 1


def test_a_rule_body_without_id_takes_the_id_from_the_address(store_path: Path) -> None:
    body = {key: value for key, value in COPILOT_RULE.items() if key != "id"}
    answer = call("put_rule", route_params={"rule_id": "copilot-use"}, body=body)
    assert answer.status == 201
    assert stored(store_path)[1] == [COPILOT_RULE]


def test_an_invalid_rule_is_refused_with_rule_id_path_and_message_and_nothing_is_stored(
    store_path: Path,
) -> None:
    # GIVEN a stored rule set at version 1
    put(TEAMS_RULE)
    # WHEN a rule with an unknown operator and an unknown field is put
    bad = {**COPILOT_RULE, "colour": "blue",
           "condition": {"field": "attributes.user_type", "op": "equals", "value": "regular"}}
    answer = put(bad)
    # THEN 422 problem+json lists each problem, and the store is unchanged
    assert answer.status == 422
    assert answer.media_type == "application/problem+json"
    assert answer.body["type"] == "urn:squall:problem:rules-invalid"
    problems = {(e["rule_id"], e["path"]) for e in answer.body["errors"]}
    assert problems == {("copilot-use", "$.condition.op"), ("copilot-use", "$.colour")}
    assert any("unknown operator 'equals'" in e["message"] for e in answer.body["errors"])
    assert stored(store_path) == (1, [TEAMS_RULE])


@pytest.mark.parametrize("contact_key", [None, ["{entity}"]])
def test_a_contact_key_that_is_not_text_is_refused_with_422_not_a_server_error(
    store_path: Path, contact_key: Any
) -> None:
    # GIVEN a rule whose contact key is null or a list (the fuzz run's "expected str, got NoneType")
    bad = {**COPILOT_RULE, "action": {**COPILOT_RULE["action"], "contact_key": contact_key}}
    # WHEN it is put, validated and dry-run
    answers = [put(bad), call("validate_ruleset", body=[bad]),
               call("dry_run_rules", body={"rules": [bad], "events": []})]  # fmt: skip
    # THEN each is a 422 naming the field, never a 500
    assert [answer.status for answer in answers] == [422, 422, 422]
    assert {answer.body["errors"][0]["path"] for answer in answers} == {"$.action.contact_key"}


def test_an_action_to_a_destination_the_app_does_not_configure_is_refused_naming_the_configured_ones(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the app configures webhook "crm" and no EventBridge bus (as Bicep sets both settings)
    monkeypatch.setenv("SQUALL_WEBHOOKS", '{"crm": {"url": "https://hooks.example.com/squall"}}')
    monkeypatch.setenv("SQUALL_EVENTBRIDGE", "")
    get_settings.cache_clear()
    erp = {**COPILOT_RULE, "action": {"kind": "webhook", "destination": "erp"}}
    bus = {**COPILOT_RULE, "id": "to-bus", "action": {"kind": "eventbridge", "destination": "aws", "detail_type": "x"}}
    # WHEN rules naming webhook "erp" and bus "aws" are put
    answers = [put(erp), put(bus)]
    # THEN both are refused with 422 at $.action.destination, naming what is configured; nothing is stored
    assert [a.status for a in answers] == [422, 422]
    messages = [a.body["errors"][0] for a in answers]
    assert {m["path"] for m in messages} == {"$.action.destination"}
    assert messages[0]["message"].endswith("(SQUALL_WEBHOOKS); configured: crm")
    assert messages[1]["message"].endswith("(SQUALL_EVENTBRIDGE); configured: none")
    # AND the configured webhook is accepted
    assert put({**COPILOT_RULE, "action": {"kind": "webhook", "destination": "crm"}}).status in (200, 201)
    assert stored(store_path)[0] == 1


def test_an_id_in_the_body_that_differs_from_the_address_is_refused(store_path: Path) -> None:
    answer = call("put_rule", route_params={"rule_id": "other-id"}, body=TEAMS_RULE)
    assert answer.status == 422
    assert answer.body["errors"][0]["path"] == "$.id"
    assert stored(store_path)[0] == 0


def test_a_stale_if_match_is_refused_with_412_and_the_current_version(store_path: Path) -> None:
    # GIVEN version 2 is stored
    put(TEAMS_RULE)
    put(COPILOT_RULE)
    # WHEN a change based on version 1 is put
    changed = {**TEAMS_RULE, "priority": 5}
    stale = put(changed, headers={"If-Match": '"1"'})
    # THEN 412 with the current version; nothing stored
    assert stale.status == 412
    assert (stale.body["current_version"], stale.headers["ETag"]) == (2, '"2"')
    assert stored(store_path)[0] == 2
    # AND the same change based on version 2 is stored as version 3
    fresh = put(changed, headers={"If-Match": '"2"'})
    assert (fresh.status, fresh.body["version"]) == (200, 3)


def test_a_malformed_if_match_is_a_bad_request(store_path: Path) -> None:
    answer = put(TEAMS_RULE, headers={"If-Match": "yesterday"})
    assert (answer.status, answer.body["type"]) == (400, "urn:squall:problem:bad-request")


def test_deleting_a_rule_stores_a_version_without_it_and_then_it_is_not_found(store_path: Path) -> None:
    put(TEAMS_RULE)
    put(COPILOT_RULE)
    deleted = call("delete_rule", route_params={"rule_id": "teams-session"})
    assert (deleted.status, deleted.body["version"]) == (200, 3)
    assert stored(store_path) == (3, [COPILOT_RULE])
    missing = call("get_rule", route_params={"rule_id": "teams-session"})
    assert (missing.status, missing.body["type"]) == (404, "urn:squall:problem:rule-not-found")
    again = call("delete_rule", route_params={"rule_id": "teams-session"})
    assert again.status == 404


def test_rule_sets_are_chosen_by_the_ruleset_parameter(store_path: Path) -> None:
    put(TEAMS_RULE, params={"ruleset": "staging"})
    assert stored(store_path, "staging")[0] == 1
    assert stored(store_path, "default")[0] == 0
    assert call("list_rules", params={"ruleset": "staging"}).body["rules"] == [TEAMS_RULE]


def test_an_invalid_ruleset_name_is_a_bad_request(store_path: Path) -> None:
    answer = call("list_rules", params={"ruleset": "../etc"})
    assert answer.status == 400
    assert "rule set name" in answer.body["detail"]


# --- validate ------------------------------------------------------------------------------------


def test_validating_a_good_rule_set_answers_its_rule_ids(store_path: Path) -> None:
    answer = call("validate_ruleset", body={"rules": [TEAMS_RULE, COPILOT_RULE]})
    assert answer.body == {"valid": True, "rules": 2, "rule_ids": ["teams-session", "copilot-use"]}
    assert stored(store_path)[0] == 0


def test_validating_duplicate_ids_answers_422_with_the_second_rule(store_path: Path) -> None:
    answer = call("validate_ruleset", body=[TEAMS_RULE, TEAMS_RULE])
    assert answer.status == 422
    assert answer.body["errors"] == [{"rule_id": "teams-session", "path": "$.id",
                                      "message": "duplicate rule id 'teams-session'", "index": 1}]


@pytest.mark.parametrize(
    ("raw_body", "detail"),
    [(b"", "request body is empty"), (b'{"rules": [', "not valid JSON"), (b'"rules"', "JSON array of rules")],
)
def test_a_body_that_is_not_a_rule_set_is_a_bad_request(store_path: Path, raw_body: bytes, detail: str) -> None:
    answer = call("validate_ruleset", raw_body=raw_body)
    assert answer.status == 400
    assert detail in answer.body["detail"]


# --- dry run --------------------------------------------------------------------------------------


def test_dry_run_of_the_stored_rules_on_producer_records_plans_actions_and_sends_nothing(
    store_path: Path,
) -> None:
    # GIVEN the stored rule set (version 1) and two real O365 records plus a broken one
    put(TEAMS_RULE)
    teams = fixture_record("o365_recreated.jsonl", "TeamsSessionStarted")
    upload = fixture_record("o365_recreated.jsonl", "FileUploaded")
    # WHEN they are posted to the dry run
    answer = call("dry_run_rules", body=[teams, upload, '{"Id": "broken'])
    # THEN the Teams record matched and would enter its user into the journey
    assert answer.status == 200
    first, second, third = answer.body["events"]
    assert (answer.body["ruleset"], answer.body["version"], answer.body["firing_count"]) == ("default", 1, 1)
    assert first["matched"] == ["teams-session"]
    [firing] = first["firings"]
    assert (firing["contact_key"], firing["trigger"], firing["time"]) == (
        "tomas@nwlab.onmicrosoft.com", "event", "2021-05-11T08:13:55Z")
    assert len(firing["action_key"]) == 32
    # AND the upload matched nothing, the broken one was rejected with the normalizer's reason
    assert (second["matched"], second["firings"]) == ([], [])
    assert third["rejected"].startswith("invalid JSON")
    # AND nothing was written: no new version, no entity state, no outbox
    store = SqliteStore(store_path)
    assert asyncio.run(store.rules.ruleset_version("default")) == 1
    assert asyncio.run(store.states.load_states(["tomas@nwlab.onmicrosoft.com"])) == {}
    assert asyncio.run(store.states.pending_outbox()) == []
    asyncio.run(store.close())


def test_dry_run_of_posted_rules_applies_cooldowns_in_event_time(store_path: Path) -> None:
    # GIVEN posted rules with a 30-day cool-down and three canonical events of one user
    events = [
        canonical_event("e-1", "ana@contoso.com", "2026-01-01T09:00:00Z"),
        canonical_event("e-2", "ana@contoso.com", "2026-01-15T09:00:00Z"),  # inside the cool-down
        canonical_event("e-3", "ana@contoso.com", "2026-02-05T09:00:00Z"),  # after it
        canonical_event("e-1", "ana@contoso.com", "2026-03-01T09:00:00Z"),  # same id: skipped
    ]
    # WHEN they are dry-run
    answer = call("dry_run_rules", body={"events": events, "rules": [TEAMS_RULE], "format": "canonical"})
    # THEN the first and third fire, the second is cooling down, the repeated id is a duplicate
    assert answer.status == 200
    assert (answer.body["ruleset"], answer.body["version"]) == (None, 0)
    assert [e["matched"] for e in answer.body["events"]] == [["teams-session"], [], ["teams-session"], []]
    assert answer.body["events"][3]["duplicate"] is True
    assert stored(store_path)[0] == 0


def test_dry_run_reports_a_match_whose_action_cannot_be_planned(store_path: Path) -> None:
    event = canonical_event("e-9", "bo@contoso.com", "2026-01-01T09:00:00Z")
    event["attributes"] = {"user_type": "regular"}  # no workload for the action's data template
    answer = call("dry_run_rules", body={"events": [event], "rules": [TEAMS_RULE]})
    [firing] = answer.body["events"][0]["firings"]
    assert (firing["rule_id"], firing["action_key"], firing["contact_key"]) == ("teams-session", None, None)
    assert "attributes.workload" in firing["error"]


def test_dry_run_without_a_stored_rule_set_or_posted_rules_is_not_found(store_path: Path) -> None:
    answer = call("dry_run_rules", body=[canonical_event("e-1", "ana@contoso.com", "2026-01-01T09:00:00Z")])
    assert (answer.status, answer.body["type"]) == (404, "urn:squall:problem:ruleset-not-found")


def test_dry_run_with_invalid_posted_rules_is_refused_with_their_errors(store_path: Path) -> None:
    bad = {**TEAMS_RULE, "cooldown": "30 days"}
    answer = call("dry_run_rules", body={"events": [], "rules": [bad]})
    assert answer.status == 422
    assert [(e["rule_id"], e["path"]) for e in answer.body["errors"]] == [("teams-session", "$.cooldown")]


def test_dry_run_of_more_than_1000_events_is_too_large(store_path: Path) -> None:
    answer = call("dry_run_rules", body={"events": [{}] * 1001, "rules": []})
    assert answer.status == 413


def test_dry_run_with_an_unknown_field_is_a_bad_request(store_path: Path) -> None:
    answer = call("dry_run_rules", body={"events": [], "rulez": []})
    assert (answer.status, answer.body["detail"]) == (
        400, "unknown field(s) rulez; expected clock, events, format, rules")


# --- store failures -------------------------------------------------------------------------------


def test_an_unreachable_store_answers_503_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN SQUALL_STORE names a path SQLite cannot open (a directory)
    monkeypatch.setenv("SQUALL_STORE", f"sqlite:{tmp_path}")
    get_settings.cache_clear()
    try:
        answer = call("list_rules")
    finally:
        get_settings.cache_clear()
    assert (answer.status, answer.body["type"]) == (503, "urn:squall:problem:store-unavailable")
    assert "SQUALL_STORE" in answer.body["detail"]


def test_a_misconfigured_store_answers_500_problem_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQUALL_STORE", "floppy:A")
    get_settings.cache_clear()
    try:
        answer = call("list_rules")
    finally:
        get_settings.cache_clear()
    assert (answer.status, answer.body["type"]) == (500, "urn:squall:problem:store-error")
    assert "SQUALL_STORE='floppy:A'" in answer.body["detail"]


# --- arbitrary input --------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_rule_like = st.fixed_dictionaries(
    {"id": st.just("fuzzed"), "action": st.just(TEAMS_RULE["action"])},
    optional={"condition": _json_values, "when": _json_values, "cooldown": _json_values, "priority": _json_values},
)

_dry_run_like = st.fixed_dictionaries(
    {"events": st.lists(_json_values | st.builds(canonical_event, st.text(min_size=1, max_size=4),
                                                 st.text(max_size=4), st.just("2026-01-01T00:00:00Z")),
                        max_size=4)},
    optional={"rules": st.lists(_rule_like, max_size=2),
              "format": st.sampled_from(["auto", "canonical", "o365", "json", "cloudevents"])},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_json_values | _rule_like | _dry_run_like,
    operation=st.sampled_from(["put_rule", "validate_ruleset", "dry_run_rules"]),
)
def test_any_json_body_gets_a_documented_answer_never_a_500(
    monkeypatch: pytest.MonkeyPatch, body: Any, operation: str
) -> None:
    # GIVEN the in-memory store  WHEN any JSON is posted to a writing or evaluating operation
    monkeypatch.setenv("SQUALL_STORE", "memory")
    get_settings.cache_clear()
    try:
        answer = call(operation, route_params={"rule_id": "fuzzed"}, body=body)
    finally:
        get_settings.cache_clear()
    # THEN the answer is one the OpenAPI document lists (call() checks schema) and no server error
    assert answer.status < 500, answer.body
