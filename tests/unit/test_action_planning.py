"""plan_actions: templates rendered from the event, deterministic idempotency keys, failures as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.actions.models import ActionKind
from shared.actions.planning import idempotency_key, plan_actions
from shared.events.models import Event
from shared.rules import RuleMatch, compile_ruleset, validate_rules


def event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "id": "80c76bd2-9d81-4c57-a97a-accfc3443dca",
        "source": "o365",
        "type": "MicrosoftTeams/TeamsSessionStarted",
        "time": datetime(2024, 5, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        "entity": "ada@contoso.com",
        "tenant": "41463f53-8812-40f4-890f-865bf6e35190",
        "attributes": {
            "workload": "MicrosoftTeams",
            "UserKey": "1153977025279851686",
            "RecordType": 25,
            "Flagged": True,
            "Members": [{"UPN": "bob@contoso.com"}],
            "client_ip": None,
        },
    }
    return Event(**{**fields, **changes})


def matches_for(action: dict[str, Any], evt: Event, *, version: int = 3) -> list[RuleMatch]:
    raw = [
        {
            "id": "teams-first-session",
            "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-x", **action},
        }
    ]
    checked = validate_rules(raw)
    assert checked.errors == []
    return compile_ruleset(checked.rules, version=version).evaluate(evt, None)


def test_templates_render_from_event_fields() -> None:
    # GIVEN the documented action  WHEN planned
    result = plan_actions(
        matches_for(
            {
                "contact_key": "{entity}",
                "data": {
                    "Workload": "{attributes.workload}",
                    "Tenant": "{tenant}",
                    "EventTime": "{time}",
                    "Label": "user {attributes.UserKey} in {{braces}}",
                    "Source": "squall",
                    "Score": 7,
                },
            },
            event(),
        )
    )
    # THEN contact key and data are filled in; datetimes are ISO 8601 UTC with Z; literals stay as written
    assert result.failures == []
    (action,) = result.actions
    assert action.contact_key == "ada@contoso.com"
    assert action.event_definition_key == "APIEvent-x"
    assert action.kind is ActionKind.JOURNEY_ENTRY
    assert (action.rule_id, action.event_id, action.entity) == (
        "teams-first-session",
        event().id,
        "ada@contoso.com",
    )
    assert action.data == {
        "Workload": "MicrosoftTeams",
        "Tenant": "41463f53-8812-40f4-890f-865bf6e35190",
        "EventTime": "2024-05-01T08:30:00Z",
        "Label": "user 1153977025279851686 in {braces}",
        "Source": "squall",
        "Score": 7,
    }


def test_a_whole_placeholder_keeps_the_fields_json_type_and_mixed_text_is_a_string() -> None:
    result = plan_actions(
        matches_for(
            {
                "data": {
                    "RecordType": "{attributes.RecordType}",
                    "Flagged": "{attributes.Flagged}",
                    "Members": "{attributes.Members}",
                    "Text": "t={attributes.RecordType} flagged={attributes.Flagged} m={attributes.Members}",
                    "Nested": {"List": ["{attributes.RecordType}", "x"]},
                }
            },
            event(),
        )
    )
    (action,) = result.actions
    assert action.data == {
        "RecordType": 25,
        "Flagged": True,
        "Members": [{"UPN": "bob@contoso.com"}],
        "Text": 't=25 flagged=true m=[{"UPN":"bob@contoso.com"}]',
        "Nested": {"List": [25, "x"]},
    }


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"data": {"Ip": "{attributes.client_ip}"}}, "attributes.client_ip"),  # null
        ({"data": {"Region": "{attributes.ClientRegion}"}}, "attributes.ClientRegion"),  # missing
        ({"data": {"Where": "in {attributes.ClientRegion}"}}, "attributes.ClientRegion"),
        ({"contact_key": "{attributes.ContactKey}"}, "attributes.ContactKey"),
    ],
)
def test_missing_or_null_template_field_is_a_planning_failure_not_an_empty_value(
    action: dict[str, Any], field: str
) -> None:
    # GIVEN a template naming a field the event does not have  WHEN planned
    (match,) = matches_for(action, event())
    result = plan_actions([match])
    # THEN nothing is planned and the failure names the field (for the dead-letter store)
    assert result.actions == []
    (failure,) = result.failures
    assert failure.match is match
    assert field in failure.reason


def test_contact_key_that_renders_empty_is_a_failure() -> None:
    result = plan_actions(
        matches_for({"contact_key": "{attributes.UserKey}"}, event(attributes={"UserKey": ""}))
    )
    assert result.actions == [] and "contact key rendered empty" in result.failures[0].reason


def test_one_failure_does_not_stop_the_other_matches() -> None:
    good = matches_for({}, event())
    bad = matches_for({"contact_key": "{attributes.nope}"}, event())
    result = plan_actions(bad + good)
    assert [a.rule_id for a in result.actions] == ["teams-first-session"] and len(result.failures) == 1


def test_idempotency_key_is_deterministic_and_depends_on_rule_event_kind_and_destination() -> None:
    # GIVEN the same match planned twice, and variations of each input
    first = plan_actions(matches_for({}, event())).actions[0].key
    again = plan_actions(matches_for({}, event())).actions[0].key
    other_event = plan_actions(matches_for({}, event(id="another-id"))).actions[0].key
    # THEN replays give the same 32-hex key; any input change gives another
    assert first == again == idempotency_key("teams-first-session", event().id, "journey_entry", "sfmc")
    assert len(first) == 32 and int(first, 16) >= 0
    variants = {
        first,
        other_event,
        idempotency_key("other-rule", event().id, "journey_entry", "sfmc"),
        idempotency_key("teams-first-session", event().id, "webhook", "sfmc"),
        idempotency_key("teams-first-session", event().id, "journey_entry", "crm-webhook"),
    }
    assert len(variants) == 5


def test_storing_the_rules_again_does_not_change_the_key_of_a_match() -> None:
    # GIVEN the same match under rule-set version 3 and, after the rules were stored again, version 4
    before = plan_actions(matches_for({}, event(), version=3)).actions[0].key
    after = plan_actions(matches_for({}, event(), version=4)).actions[0].key
    # THEN the key is the same: an already-sent match never looks new
    assert before == after


def test_known_idempotency_key_value_is_stable_across_releases() -> None:
    # sha256("v2|r|e|journey_entry|sfmc")[:32] — changing the recipe would re-send every replayed action
    assert idempotency_key("r", "e", "journey_entry", "sfmc") == "39430c6b1d53e6adc7227b7291bcbd86"


def test_naive_looking_utc_time_renders_with_z() -> None:
    (action,) = plan_actions(
        matches_for({"data": {"T": "{time}"}}, event(time=datetime(2015, 6, 29, 20, 3, 19, tzinfo=UTC)))
    ).actions
    assert action.data["T"] == "2015-06-29T20:03:19Z"
