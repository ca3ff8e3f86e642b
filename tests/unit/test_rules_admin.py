"""``RuleSetAdmin`` over the in-memory store: writes validate the whole set; dry runs send nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.actions.planning import idempotency_key
from shared.events import NormalizeOptions
from shared.rules_admin import (
    RequestInvalid,
    RequestTooLarge,
    RuleNotFound,
    RuleSetAdmin,
    RuleSetMissing,
    RulesInvalid,
    VersionMismatch,
    parse_dry_run_request,
    rules_from_document,
)
from shared.rules_admin.problems import problem_for
from shared.store import StoreUnavailable
from shared.store.memory import MemoryStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPTIONS = NormalizeOptions()


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    action = {"kind": "journey_entry", "event_definition_key": f"APIEvent-{rule_id}"}
    return {"id": rule_id, "action": action, **fields}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def admin(store: MemoryStore) -> RuleSetAdmin:
    return RuleSetAdmin(store.rules, "default")


def test_an_empty_store_is_version_0_with_no_rules(admin: RuleSetAdmin) -> None:
    view = run(admin.current())
    assert (view.ruleset, view.version, view.rules) == ("default", 0, [])


def test_put_appends_a_new_rule_and_replaces_an_existing_one_in_place(admin: RuleSetAdmin) -> None:
    run(admin.put_rule("a", rule("a")))
    run(admin.put_rule("b", rule("b")))
    outcome = run(admin.put_rule("a", rule("a", priority=9)))
    assert (outcome.version, outcome.changed, outcome.diff.changed[0].fields) == (3, True, ("priority",))
    assert [r["id"] for r in run(admin.current()).rules] == ["a", "b"]
    assert run(admin.get_rule("a")).rule["priority"] == 9


def test_an_invalid_rule_is_refused_with_every_problem_and_nothing_is_stored(
    admin: RuleSetAdmin, store: MemoryStore
) -> None:
    # GIVEN one stored rule
    run(admin.put_rule("a", rule("a")))
    # WHEN a rule with a bad cool-down and an unknown field is put
    with pytest.raises(RulesInvalid) as refused:
        run(admin.put_rule("b", rule("b", cooldown="soon", colour="blue")))
    # THEN the error lists both problems with rule id and path, and the store still holds version 1
    assert {(e.rule_id, e.path) for e in refused.value.errors} == {("b", "$.cooldown"), ("b", "$.colour")}
    assert run(store.rules.ruleset_version("default")) == 1


def test_a_stale_version_is_refused_before_anything_is_stored(admin: RuleSetAdmin) -> None:
    run(admin.put_rule("a", rule("a")))
    run(admin.put_rule("b", rule("b")))
    with pytest.raises(VersionMismatch) as stale:
        run(admin.delete_rule("a", if_version=1))
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    assert run(admin.current()).version == 2


def test_deleting_an_unknown_rule_is_not_found(admin: RuleSetAdmin) -> None:
    with pytest.raises(RuleNotFound, match="rule set 'default' has no rule 'ghost'"):
        run(admin.delete_rule("ghost"))


def test_replacing_makes_the_set_exactly_the_given_rules_and_an_identical_set_stores_nothing(
    admin: RuleSetAdmin,
) -> None:
    run(admin.replace_rules([rule("a"), rule("b")]))
    outcome = run(admin.replace_rules([rule("b"), rule("c")]))
    assert (outcome.version, outcome.diff.added, outcome.diff.removed) == (2, ("c",), ("a",))
    again = run(admin.replace_rules([rule("c"), rule("b")]))
    assert (again.version, again.changed) == (2, False)


def test_preview_of_a_replace_stores_nothing_and_refuses_invalid_rules(admin: RuleSetAdmin) -> None:
    run(admin.replace_rules([rule("a")]))
    assert run(admin.preview_replace([rule("a"), rule("b")])).added == ("b",)
    assert run(admin.current()).version == 1
    with pytest.raises(RulesInvalid):
        run(admin.preview_replace([rule("a"), rule("a")]))


@pytest.mark.parametrize(
    ("value", "path"),
    [(b"\x00", "$.action.data.blob"), (float("nan"), "$.action.data.blob"),
     ([1, {2: "x"}], "$.action.data.blob[1]"), (datetime(2026, 1, 1, tzinfo=UTC), "$.action.data.blob")],
)
def test_a_value_json_cannot_hold_is_refused_with_its_path(admin: RuleSetAdmin, value: Any, path: str) -> None:
    # GIVEN a rule whose action data holds what a YAML tag (!!binary, !!timestamp, .nan) can produce
    bad = rule("a")
    bad["action"] = {**bad["action"], "data": {"ok": "{entity}", "blob": value}}
    # WHEN it is put  THEN it is refused with the value's path, nothing stored
    with pytest.raises(RulesInvalid) as refused:
        run(admin.put_rule("a", bad))
    assert [(e.rule_id, e.path) for e in refused.value.errors] == [("a", path)]
    assert run(admin.current()).version == 0


@pytest.mark.parametrize("name", ["", "../x", "a b", "x" * 65])
def test_a_ruleset_name_outside_the_allowed_characters_is_refused(store: MemoryStore, name: str) -> None:
    with pytest.raises(RequestInvalid, match="rule set name"):
        RuleSetAdmin(store.rules, name)


def test_a_rule_document_is_an_array_or_an_object_holding_only_rules() -> None:
    assert rules_from_document([rule("a")]) == [rule("a")]
    assert rules_from_document({"rules": []}) == []
    with pytest.raises(RequestInvalid):
        rules_from_document({"rules": [], "extra": 1})


# --- dry run --------------------------------------------------------------------------------------


def o365_copilot_record() -> dict[str, Any]:
    for line in (FIXTURES / "o365_microsoft_docs.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("Operation") == "CopilotInteraction":
            return record
    raise LookupError("CopilotInteraction")


def test_dry_run_of_the_stored_set_plans_the_keys_the_pipeline_would(admin: RuleSetAdmin) -> None:
    # GIVEN version 2 of a rule set with a Copilot rule
    run(admin.put_rule("other", rule("other", when={"types": ["Exchange/*"]})))
    run(admin.put_rule("copilot", rule("copilot", when={"source": "o365", "types": ["Copilot/*"]})))
    record = o365_copilot_record()
    # WHEN Microsoft's documented Copilot record is dry-run
    report = run(admin.dry_run(parse_dry_run_request([record]), options=OPTIONS))
    # THEN the rule fired with the idempotency key of (rule, version 2, event id)
    [outcome] = report.events
    [firing] = outcome.firings
    assert (report.ruleset, report.version, outcome.matched) == ("default", 2, ("copilot",))
    assert firing.action_key == idempotency_key("copilot", record["Id"], "journey_entry", "sfmc")
    assert firing.contact_key == record["UserId"]


def test_dry_run_without_a_stored_set_is_missing(admin: RuleSetAdmin) -> None:
    with pytest.raises(RuleSetMissing):
        run(admin.dry_run(parse_dry_run_request([]), options=OPTIONS))


def test_dry_run_reads_items_in_the_forced_format_and_rejects_others(admin: RuleSetAdmin) -> None:
    # GIVEN an O365 record posted with format forced to cloudevents
    request = parse_dry_run_request({"events": [o365_copilot_record()], "rules": [rule("a")],
                                     "format": "cloudevents"})
    # WHEN dry-run  THEN it is rejected with the cloudevents normalizer's reason
    [outcome] = run(admin.dry_run(request, options=OPTIONS)).events
    assert outcome.rejected is not None and outcome.rejected.startswith("cloudevents")


def test_dry_run_reports_an_invalid_canonical_event_as_rejected(admin: RuleSetAdmin) -> None:
    bad = {"id": "e", "source": "o365", "type": "T", "time": "yesterday", "entity": "x"}
    request = parse_dry_run_request({"events": [bad], "rules": [], "format": "canonical"})
    [outcome] = run(admin.dry_run(request, options=OPTIONS)).events
    assert outcome.rejected is not None and "time" in outcome.rejected


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("events", RequestInvalid),
        ({"events": {}}, RequestInvalid),
        ({"events": [], "rules": {}}, RequestInvalid),
        ({"events": [], "format": "xml"}, RequestInvalid),
        ({"events": [], "clock": "lunar"}, RequestInvalid),
        ({"events": [{}] * 1001}, RequestTooLarge),
    ],
)
def test_a_malformed_dry_run_request_is_refused(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_dry_run_request(body)


# --- problem details --------------------------------------------------------------------------------


def test_problems_carry_status_type_and_what_the_caller_needs() -> None:
    invalid = problem_for(RulesInvalid([]))
    assert (invalid.status, invalid.type, invalid.to_dict()["errors"]) == (
        422, "urn:squall:problem:rules-invalid", [])
    stale = problem_for(VersionMismatch("default", expected=1, actual=4))
    assert (stale.status, stale.headers, stale.to_dict()["current_version"]) == (412, {"ETag": '"4"'}, 4)
    down = problem_for(StoreUnavailable("cosmos throttled", retry_after=2.4))
    assert (down.status, down.headers) == (503, {"Retry-After": "2"})


def test_an_unexpected_error_becomes_a_500_that_reveals_nothing() -> None:
    found = problem_for(KeyError("secret-ish internals"))
    assert found.status == 500
    assert "secret-ish" not in json.dumps(found.to_dict())
