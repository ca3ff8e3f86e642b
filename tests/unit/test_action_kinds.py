"""Actions by kind: the tagged union on ``kind`` (journey_entry when absent), each kind planned to its
named destination, and destination names checked at write time against the configured ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.actions.destinations import destination_catalog
from shared.actions.models import ActionKind, action_from_json, action_to_json
from shared.actions.planning import idempotency_key, plan_actions
from shared.rules import compile_ruleset, validate_rules
from shared.settings import Settings
from tests.unit.test_action_planning import event

ROW = {"kind": "data_extension_row", "data_extension_key": "Usage", "row_keys": {"ContactKey": "{entity}"},
       "data": {"Tenant": "{tenant}"}}  # fmt: skip
WEBHOOK = {"kind": "webhook", "destination": "crm", "data": {"Workload": "{attributes.workload}"}}
EVENTBRIDGE = {"kind": "eventbridge", "destination": "aws", "detail_type": "Squall usage", "data": {"n": 1}}


def rule(action: Any) -> dict[str, Any]:
    return {"id": "r1", "when": {"types": ["MicrosoftTeams/TeamsSessionStarted"]}, "action": action}


def planned(action: dict[str, Any]) -> Any:
    checked = validate_rules([rule(action)])
    assert checked.errors == [], checked.errors
    result = plan_actions(compile_ruleset(checked.rules).evaluate(event(), None))
    assert result.failures == []
    (planned_action,) = result.actions
    return planned_action


def test_a_rule_without_kind_is_a_journey_entry_to_sfmc_with_the_key_it_always_had() -> None:
    # GIVEN an action written before kinds existed  WHEN planned
    action = planned({"event_definition_key": "APIEvent-x"})
    # THEN it is a journey entry to Marketing Cloud, keyed as before
    assert (action.kind, action.destination, action.event_definition_key) == (
        ActionKind.JOURNEY_ENTRY, "sfmc", "APIEvent-x",
    )  # fmt: skip
    assert action.key == idempotency_key("r1", event().id, "journey_entry", "sfmc")


def test_a_row_renders_its_primary_key_and_columns() -> None:
    action = planned(ROW)
    assert (action.kind, action.destination, action.data_extension_key) == (
        ActionKind.DATA_EXTENSION_ROW, "sfmc", "Usage",
    )  # fmt: skip
    assert action.row_keys == {"ContactKey": "ada@contoso.com"}
    assert action.data == {"Tenant": "41463f53-8812-40f4-890f-865bf6e35190"}


def test_webhook_and_eventbridge_actions_go_to_their_named_destination_under_their_own_key() -> None:
    hook, bus = planned(WEBHOOK), planned(EVENTBRIDGE)
    assert (hook.kind, hook.destination, hook.data) == (ActionKind.WEBHOOK, "crm", {"Workload": "MicrosoftTeams"})
    assert (bus.kind, bus.destination, bus.detail_type) == (ActionKind.EVENTBRIDGE, "aws", "Squall usage")
    assert hook.key == idempotency_key("r1", event().id, "webhook", "crm") != bus.key


@pytest.mark.parametrize("spec", [ROW, WEBHOOK, EVENTBRIDGE], ids=["row", "webhook", "eventbridge"])
def test_every_kind_survives_the_outbox_and_dead_letter_json(spec: dict[str, Any]) -> None:
    # GIVEN a planned action  WHEN written as the outbox / a dead letter keeps it, and read back
    action = planned(spec)
    # THEN it is the same action
    assert action_from_json(json.loads(json.dumps(action_to_json(action)))) == action


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        ({"kind": "webhook"}, "$.action.destination", "required field is missing"),
        ({**EVENTBRIDGE, "detail_type": ""}, "$.action.detail_type", "at least 1 character"),
        ({**ROW, "row_keys": {}}, "$.action.row_keys", "at least 1 item"),
        ({**ROW, "row_keys": {"K": "{state.r1}"}}, "$.action.row_keys", "entity state"),
        ({**WEBHOOK, "event_definition_key": "X"}, "$.action.event_definition_key", "unknown field"),
        ({**WEBHOOK, "destination": "https://evil.example.com"}, "$.action.destination", "should match pattern"),
        ({"kind": "sms"}, "$.action.kind", "unknown action kind 'sms'; expected one of journey_entry"),
    ],
)
def test_each_kind_is_validated_at_write_time_with_a_precise_path(action: Any, path: str, message: str) -> None:
    (error,) = validate_rules([rule(action)]).errors
    assert (error.path, message in error.message) == (path, True), error


def test_an_unknown_destination_is_refused_naming_the_configured_ones() -> None:
    # GIVEN settings with webhook "crm" and bus "aws"
    settings = Settings(SQUALL_WEBHOOKS='{"crm": {"url": "https://x.example.com"}}', SQUALL_EVENTBRIDGE='{"aws": {}}')
    catalog = destination_catalog(settings)
    # WHEN rules name "erp" as a webhook, "crm" as a bus, and "x" as a Marketing Cloud destination
    raw = [rule({**WEBHOOK, "destination": "erp"}), {**rule({**EVENTBRIDGE, "destination": "crm"}), "id": "r2"},
           {**rule({"event_definition_key": "K", "destination": "x"}), "id": "r3"}]  # fmt: skip
    errors = validate_rules(raw, destinations=catalog).errors
    # THEN each is an error at $.action.destination that lists what is configured for its kind
    assert [(e.rule_id, e.path) for e in errors] == [(r, "$.action.destination") for r in ("r1", "r2", "r3")]
    assert errors[0].message == (
        "no webhook destination named 'erp' is configured (SQUALL_WEBHOOKS); configured: crm"
    )
    assert errors[1].message.endswith("(SQUALL_EVENTBRIDGE); configured: aws")
    assert errors[2].message.endswith("configured: sfmc")
    # AND the configured names pass
    assert validate_rules([rule(WEBHOOK), {**rule(EVENTBRIDGE), "id": "r2"}], destinations=catalog).ok


def test_names_are_not_checked_where_their_setting_is_unset() -> None:
    # GIVEN no SQUALL_WEBHOOKS / SQUALL_EVENTBRIDGE at all (a shell without the deployment's settings)
    catalog = destination_catalog(Settings())
    # THEN webhook and bus names pass; a set-but-empty setting configures none
    assert validate_rules([rule(WEBHOOK)], destinations=catalog).ok
    empty = destination_catalog(Settings(SQUALL_WEBHOOKS=""))
    (error,) = validate_rules([rule(WEBHOOK)], destinations=empty).errors
    assert error.message.endswith("configured: none")
