"""Entity states: named states, transitions on events and conditions, actions on entering a state,
global transitions from any state, and conditions of other rules reading the current state."""

from __future__ import annotations

from typing import Any

from shared.actions.planning import plan_actions
from tests.unit.rule_scenarios import ACTION, Entity, compiled, event, rule

SIGNUP, PURCHASE, CANCEL, DELETE = "Shop/SignUp", "Shop/Purchase", "Shop/Cancel", "Account/Deleted"


def journey(key: str) -> dict[str, Any]:
    return {**ACTION, "event_definition_key": key}


def lifecycle(**extra: Any) -> dict[str, Any]:
    machine = {
        "initial": "trial",
        "states": {
            "trial": {"on_enter": journey("Welcome")},
            "active": {"on_enter": journey("Onboarding")},
            "lapsed": {"on_enter": journey("WinBack")},
            "gone": {},
        },
        "transitions": [
            {"from": "trial", "to": "active", "when": {"types": [PURCHASE]}},
            {"from": "active", "to": "lapsed", "when": {"types": [CANCEL]}},
            {
                "from": ["lapsed", "trial"],
                "to": "active",
                "when": {"types": [PURCHASE], "condition": {"field": "attributes.amount", "op": "gt", "value": 0}},
            },
        ],
        "global": [{"to": "gone", "when": {"types": [DELETE]}}],
    }
    return rule("lifecycle", when={"types": [SIGNUP, PURCHASE, CANCEL, DELETE]}, machine=machine, **extra)


def entered(entity: Entity, *events: Any) -> list[str]:
    return [match.action.event_definition_key for match in entity.feed(*events)]


def test_first_event_enters_the_initial_state_and_plans_its_action() -> None:
    entity = Entity(compiled(lifecycle()))
    assert entered(entity, event(0, SIGNUP)) == ["Welcome"]
    assert entity.state.data["rules"]["lifecycle"]["s"] == "trial"


def test_transitions_move_the_entity_and_plan_each_entry_once() -> None:
    # GIVEN an entity in trial
    entity = Entity(compiled(lifecycle()))
    entity.feed(event(0, SIGNUP))
    # WHEN it purchases, signs up again (no transition), cancels, then purchases with an amount
    steps = [
        entered(entity, item)
        for item in (event(1, PURCHASE, amount=0), event(2, SIGNUP), event(3, CANCEL), event(4, PURCHASE, amount=5))
    ]
    # THEN each state change plans the entered state's action, and nothing else does
    assert steps == [["Onboarding"], [], ["WinBack"], ["Onboarding"]]


def test_a_transition_condition_must_hold() -> None:
    entity = Entity(compiled(lifecycle()))
    entity.feed(event(0, SIGNUP), event(1, PURCHASE, amount=1), event(2, CANCEL))
    assert entered(entity, event(3, PURCHASE, amount=0)) == []


def test_global_transitions_apply_in_any_state() -> None:
    for history in ([event(0, SIGNUP)], [event(0, SIGNUP), event(1, PURCHASE)]):
        entity = Entity(compiled(lifecycle()))
        entity.feed(*history)
        entity.feed(event(5, DELETE))
        assert entity.state.data["rules"]["lifecycle"]["s"] == "gone"


def test_one_event_may_enter_the_initial_state_and_move_on_with_distinct_action_keys() -> None:
    # GIVEN a new entity whose first event is a purchase
    entity = Entity(compiled(lifecycle()))
    matches = entity.feed(event(0, PURCHASE, event_id="p-1"))
    # THEN it enters trial and moves to active; the two planned actions have different keys
    assert [m.event.id for m in matches] == ["p-1#trial", "p-1#active"]
    keys = {action.key for action in plan_actions(matches).actions}
    assert len(keys) == 2


def test_other_rules_read_the_machine_state() -> None:
    # GIVEN a rule for purchases of active customers only (lower priority: it runs after the machine)
    reader = rule(
        "active-purchase",
        when={"types": [PURCHASE]},
        priority=-1,
        condition={
            "all": [
                {"field": "state.lifecycle", "op": "eq", "value": "active"},
                {"field": "state.lifecycle.since", "op": "lt", "value_field": "time"},
            ]
        },
    )
    entity = Entity(compiled(lifecycle(), reader))
    # WHEN the first purchase makes the entity active, and a second purchase comes later
    first = [m.rule_id for m in entity.feed(event(0, SIGNUP), event(1, PURCHASE, amount=1))]
    second = [m.rule_id for m in entity.feed(event(2, PURCHASE, amount=1))]
    # THEN the reader fires only for the purchase made while already active
    assert "active-purchase" not in first
    assert second == ["active-purchase"]


def test_a_type_surprise_in_a_transition_still_plans_the_initial_states_action() -> None:
    # GIVEN a machine whose only transition from its initial state needs a positive amount (issue 15, defect 4)
    machine = {
        "initial": "trial",
        "states": {"trial": {"on_enter": journey("Welcome")}, "active": {"on_enter": journey("Onboarding")}},
        "transitions": [
            {
                "from": "trial",
                "to": "active",
                "when": {"types": [PURCHASE], "condition": {"field": "attributes.amount", "op": "gt", "value": 0}},
            }
        ],
    }
    entity = Entity(compiled(rule("lifecycle", when={"types": [PURCHASE]}, machine=machine)))
    # WHEN a new entity's first event is a purchase whose amount is text
    # THEN it enters trial and plans Welcome; the surprising transition counts as not taken
    assert entered(entity, event(0, PURCHASE, amount="lots")) == ["Welcome"]
    assert entity.state.data["rules"]["lifecycle"]["s"] == "trial"
