"""Cool-downs run on event time and live in the entity's state as small JSON."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.models import Event
from shared.rules import CompiledRuleSet, compile_ruleset, validate_rules
from shared.store.models import EntityState

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def event(
    at: datetime, *, event_id: str = "e", event_type: str = "Copilot/CopilotInteraction", **attributes: Any
) -> Event:
    return Event(
        id=event_id, source="o365", type=event_type, time=at, entity="ada@contoso.com", attributes=attributes
    )


def compiled(*extra: dict[str, Any]) -> CompiledRuleSet:
    raw = [
        {
            "id": "copilot-first-use",
            "cooldown": "P30D",
            "when": {"types": ["Copilot/CopilotInteraction"]},
            "condition": {"not": {"field": "attributes.ok", "op": "eq", "value": "no"}},
            "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-copilot"},
        },
        *extra,
    ]
    checked = validate_rules(raw)
    assert checked.errors == []
    return compile_ruleset(checked.rules)


def fires(rules: CompiledRuleSet, evt: Event, state: EntityState | None) -> bool:
    return any(match.rule_id == "copilot-first-use" for match in rules.evaluate(evt, state))


def test_rule_stays_quiet_for_the_cooldown_in_event_time() -> None:
    # GIVEN a 30-day cool-down and a new entity
    rules, state = compiled(), EntityState(entity="ada@contoso.com")
    # WHEN events arrive 0 days, 29 days 23:59, and exactly 30 days after the first firing
    first = fires(rules, event(T0, event_id="1"), state)
    inside = fires(rules, event(T0 + timedelta(days=30) - timedelta(minutes=1), event_id="2"), state)
    at_end = fires(rules, event(T0 + timedelta(days=30), event_id="3"), state)
    again = fires(rules, event(T0 + timedelta(days=31), event_id="4"), state)
    # THEN it fires, stays quiet, fires again when the period is over, then is quiet once more
    assert (first, inside, at_end, again) == (True, False, True, False)


def test_cooldown_ignores_wall_clock_time() -> None:
    # GIVEN events from two years ago replayed today  WHEN 31 days of event time pass between them
    rules, state = compiled(), EntityState(entity="ada@contoso.com")
    past = datetime(2022, 1, 1, tzinfo=UTC)
    # THEN both fire (wall-clock "now" plays no role)
    assert fires(rules, event(past, event_id="1"), state)
    assert fires(rules, event(past + timedelta(days=31), event_id="2"), state)


def test_an_earlier_event_arriving_late_does_not_fire_during_the_cooldown() -> None:
    rules, state = compiled(), EntityState(entity="ada@contoso.com")
    assert fires(rules, event(T0, event_id="1"), state)
    assert not fires(rules, event(T0 - timedelta(hours=1), event_id="0"), state)


def test_a_non_matching_event_does_not_start_the_cooldown() -> None:
    rules, state = compiled(), EntityState(entity="ada@contoso.com")
    assert not fires(rules, event(T0, ok="no"), state)
    assert state.data == {}
    assert fires(rules, event(T0 + timedelta(minutes=1)), state)


def test_state_is_small_json_with_iso_times() -> None:
    rules, state = compiled(), EntityState(entity="ada@contoso.com")
    fires(rules, event(T0), state)
    assert json.loads(json.dumps(state.data)) == {"cooldowns": {"copilot-first-use": "2024-05-01T08:00:00Z"}}


def test_state_survives_a_new_rule_set_version() -> None:
    # GIVEN a firing recorded under version 1  WHEN version 2 of the rule set evaluates with that state
    state = EntityState(entity="ada@contoso.com")
    assert fires(compile_ruleset(validate_rules([_copilot_rule()]).rules, version=1), event(T0), state)
    persisted = EntityState(entity=state.entity, data=json.loads(json.dumps(state.data)))
    version_2 = compile_ruleset(validate_rules([_copilot_rule()]).rules, version=2)
    # THEN the cool-down still holds
    assert not fires(version_2, event(T0 + timedelta(days=1)), persisted)


def _copilot_rule() -> dict[str, Any]:
    return {
        "id": "copilot-first-use",
        "cooldown": "P30D",
        "action": {"kind": "journey_entry", "event_definition_key": "K"},
    }


def test_expired_and_forgotten_entries_are_pruned_on_the_next_firing() -> None:
    # GIVEN state with an expired entry of a known rule, an ancient entry of a deleted rule, and junk
    rules = compiled(
        {"id": "short", "cooldown": "1h", "action": {"kind": "journey_entry", "event_definition_key": "K"}}
    )
    state = EntityState(
        entity="ada@contoso.com",
        data={
            "cooldowns": {
                "short": "2024-04-01T00:00:00Z",
                "deleted-rule": "2022-01-01T00:00:00Z",
                "recent-deleted-rule": "2024-04-30T00:00:00Z",
                "junk": 12,
            }
        },
    )
    # WHEN a rule fires
    assert fires(rules, event(T0), state)
    # THEN only live entries remain
    assert set(state.data["cooldowns"]) == {"copilot-first-use", "recent-deleted-rule", "short"}


def test_damaged_state_entry_does_not_block_the_rule_forever() -> None:
    rules = compiled()
    state = EntityState(entity="ada@contoso.com", data={"cooldowns": {"copilot-first-use": "not a time"}})
    assert fires(rules, event(T0), state)


def test_needs_state_only_when_a_stateful_candidate_passes_its_condition() -> None:
    rules = compiled({"id": "stateless", "action": {"kind": "journey_entry", "event_definition_key": "K"}})
    assert rules.needs_state(event(T0))
    assert not rules.needs_state(event(T0, ok="no"))  # condition fails: no state to read
    assert not rules.needs_state(
        event(T0, event_type="Exchange/Send")
    )  # only the stateless rule is a candidate


def test_stateful_rule_without_state_does_not_fire_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    rules = compiled()
    with caplog.at_level(logging.ERROR, logger="shared.rules"):
        assert not fires(rules, event(T0, event_id="evt-9"), None)
    assert "copilot-first-use" in caplog.text and "evt-9" in caplog.text


def test_cooldown_does_not_count_as_a_match_for_stop_after_match() -> None:
    # GIVEN a first-match rule with a cool-down above a general rule
    stopper = {
        "id": "vip",
        "priority": 10,
        "cooldown": "P1D",
        "stop_after_match": True,
        "action": {"kind": "journey_entry", "event_definition_key": "K"},
    }
    general = {"id": "general", "action": {"kind": "journey_entry", "event_definition_key": "K"}}
    rules = compile_ruleset(validate_rules([stopper, general]).rules)
    state = EntityState(entity="ada@contoso.com")
    # WHEN the first event fires vip (and stops), the second comes during its cool-down
    first = [m.rule_id for m in rules.evaluate(event(T0), state)]
    second = [m.rule_id for m in rules.evaluate(event(T0 + timedelta(hours=1)), state)]
    # THEN the cooling rule does not stop the general one
    assert (first, second) == (["vip"], ["general"])


def test_another_rules_firing_does_not_make_a_rule_forget_its_cooldown() -> None:
    # GIVEN two cool-down rules of one entity (issue 15, defect 1)
    from tests.unit.rule_scenarios import Entity, event, rule
    from tests.unit.rule_scenarios import compiled as compile_rules

    cd = rule("cd", when={"types": ["A/x"]}, cooldown="PT15M")
    other = rule("other", when={"types": ["B/y"]}, cooldown="PT1M")
    entity = Entity(compile_rules(cd, other))
    # WHEN cd fires at 10:31, other at 11:01 (cd's cool-down is over by then), then an A/x of 08:11 arrives
    fired = entity.fired(event(151, "A/x"), event(181, "B/y"), event(11, "A/x"))
    # THEN the older event stays quiet: writing other's entry did not prune cd's last firing
    assert fired == ["cd", "other"]
