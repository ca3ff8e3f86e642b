"""Lint at write time: type mismatches on known fields, moved O365 fields, O365 type patterns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.rules import load_rule_files, validate_rules

ROOT = Path(__file__).resolve().parents[2]


def problems(condition: dict[str, Any] | None = None, *, source: str | None = "o365", **when: Any) -> list[str]:
    raw: dict[str, Any] = {
        "id": "r1",
        "when": {**({"source": source} if source else {}), **when},
        "action": {"kind": "journey_entry", "event_definition_key": "K"},
    }
    if condition is not None:
        raw["condition"] = condition
    checked = validate_rules([raw])
    assert all(error.rule_id == "r1" and error.index == 0 for error in checked.errors)
    return [f"{error.path}  {error.message}" for error in checked.errors]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            {"field": "attributes.record_type", "op": "eq", "value": "25"},
            "$.condition.value  attributes.record_type is a number; '25' is a string, which never equals one (eq)",
        ),
        (
            {"field": "attributes.record_type", "op": "in", "value": [25, "x"]},
            "$.condition.value  attributes.record_type is a number; 'x' is a string, which never equals one (in)",
        ),
        (
            {"field": "attributes.workload", "op": "gt", "value": 3},
            "$.condition.value  attributes.workload is a string: "
            "gt orders numbers, datetimes and durations, never text",
        ),
        (
            {"field": "attributes.record_type", "op": "matches", "value": "^2"},
            "$.condition.value  attributes.record_type is a number: matches works on text",
        ),
        (
            {"field": "time", "op": "ge", "value_field": "entity"},
            "$.condition.value_field  compares time (datetime) with entity (string): never true",
        ),
        (
            {"field": "attributes.workload", "op": "eq", "value_field": "attributes.record_type"},
            "$.condition.value_field  compares attributes.workload (string) with attributes.record_type (number): "
            "never true",
        ),
        (
            {"not": {"field": "attributes.CreationTime", "op": "exists"}},
            "$.condition.not.field  o365 events carry CreationTime as time, not in attributes; use time",
        ),
        (
            {
                "all": [
                    {"field": "entity", "op": "exists"},
                    {"field": "tenant", "op": "eq", "value_field": "attributes.OrganizationId"},
                ]
            },
            "$.condition.all[1].value_field  o365 events carry OrganizationId as tenant, not in attributes; use tenant",
        ),
    ],
)
def test_mismatches_on_known_o365_fields_are_rejected_with_path_and_message(
    condition: dict[str, Any], expected: str
) -> None:
    assert problems(condition) == [expected]


def test_o365_type_patterns_need_a_workload() -> None:
    assert problems(types=["TeamsSessionStarted", "Exchange/*", "SharePoint*", "*"]) == [
        "$.when.types[0]  o365 event types are Workload/Operation (e.g. Exchange/Send); "
        "'TeamsSessionStarted' never matches"
    ]


def test_o365_attribute_types_apply_only_to_o365_rules() -> None:
    # GIVEN the same comparisons in a rule for another source (attributes there are the producer's own)
    condition = {"all": [{"field": "attributes.record_type", "op": "eq", "value": "25"}]}
    # THEN only o365 rules are linted for them; canonical fields are typed for every source
    assert problems(condition, source="cloudevents") == []
    assert problems(condition, source=None) == []
    assert problems({"field": "time", "op": "eq", "value_field": "tenant"}, source=None) == [
        "$.condition.value_field  compares time (datetime) with tenant (string): never true"
    ]


def test_well_typed_comparisons_pass() -> None:
    condition = {
        "all": [
            {"field": "attributes.record_type", "op": "in", "value": [25, 26]},
            {"field": "attributes.workload", "op": "starts_with", "value": "Micro"},
            {"field": "attributes.result_status", "op": "ne", "value": "failed"},
            {"field": "attributes.client_ip", "op": "exists", "value": False},
            {"field": "attributes.ObjectId", "op": "eq", "value_field": "entity"},
            {"field": "time", "op": "lt", "value_field": "attributes.Expiry"},
        ]
    }
    assert problems(condition) == []


def test_shipped_sample_rules_pass_lint() -> None:
    checked = validate_rules(load_rule_files(ROOT / "rules"))
    assert checked.errors == [] and len(checked.rules) >= 7


def test_filters_of_stateful_rules_are_linted_with_their_own_paths() -> None:
    # GIVEN an o365 sequence whose second step has a bare operation and a mistyped literal
    raw = {
        "id": "r1",
        "when": {"source": "o365"},
        "sequence": {
            "within": "P1D",
            "steps": [
                {"types": ["MicrosoftTeams/TeamsSessionStarted"]},
                {"types": ["MessageSent"], "condition": {"field": "attributes.record_type", "op": "eq", "value": "25"}},
            ],
        },
        "action": {"kind": "journey_entry", "event_definition_key": "K"},
    }
    # WHEN validated
    errors = [f"{error.path}  {error.message}" for error in validate_rules([raw]).errors]
    # THEN both problems are reported at the step's own path
    assert errors == [
        "$.sequence.steps[1].types[0]  o365 event types are Workload/Operation (e.g. Exchange/Send); "
        "'MessageSent' never matches",
        "$.sequence.steps[1].condition.value  attributes.record_type is a number; '25' is a string, "
        "which never equals one (eq)",
    ]


def test_state_fields_are_not_typed_as_o365_attributes() -> None:
    # GIVEN a machine that happens to be called like an O365 key, and a rule reading its state name
    machine = {"initial": "trial", "states": {"trial": {}}}
    action = {"kind": "journey_entry", "event_definition_key": "K"}
    rules = [
        {"id": "record_type", "priority": 1, "when": {"source": "o365"}, "machine": machine},
        {
            "id": "reader",
            "when": {"source": "o365"},
            "condition": {"field": "state.record_type", "op": "eq", "value": "trial"},
            "action": action,
        },
    ]
    # THEN state.record_type is the machine's state (text), not attributes.record_type (a number)
    assert validate_rules(rules).errors == []
