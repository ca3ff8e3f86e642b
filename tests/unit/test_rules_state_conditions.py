"""Conditions over entity state (``state.<rule>``), and when the state is read at all."""

from __future__ import annotations

from typing import Any

from tests.unit.rule_scenarios import Entity, compiled, event, rule

FAILED, SIGNIN = "Aad/LoginFailed", "Aad/LoginOk"
BURST = rule(
    "failures", priority=10, when={"types": [FAILED]},
    window={"aggregate": "count", "size": "PT1H", "op": "ge", "value": 255},
)  # fmt: skip


def reader(condition: dict[str, Any]) -> dict[str, Any]:
    return rule("after-failures", when={"types": [SIGNIN]}, condition=condition)


def test_a_rule_reads_another_rules_window_value() -> None:
    # GIVEN "a successful sign-in after at least 3 failures in the last hour"
    entity = Entity(compiled(BURST, reader({"field": "state.failures", "op": "ge", "value": 3})))
    # WHEN two failures then a sign-in; then a third failure and a sign-in
    first = entity.fired(event(0, FAILED), event(1, FAILED), event(2, SIGNIN))
    second = entity.fired(event(3, FAILED), event(4, SIGNIN))
    # THEN only the sign-in after three failures fires; one two hours later does not
    assert (first, second) == ([], ["after-failures"])
    assert entity.fired(event(200, SIGNIN)) == []


def test_missing_state_is_false_except_for_exists_false() -> None:
    never = Entity(compiled(BURST, reader({"field": "state.failures", "op": "lt", "value": 5})))
    absent = Entity(compiled(BURST, reader({"field": "state.failures", "op": "exists", "value": False})))
    assert never.fired(event(0, SIGNIN)) == []
    assert absent.fired(event(0, SIGNIN)) == ["after-failures"]


def test_not_any_and_event_fields_mix_with_state_fields() -> None:
    condition = {
        "all": [
            {"field": "attributes.app", "op": "eq", "value": "portal"},
            {
                "not": {
                    "any": [
                        {"field": "state.failures", "op": "ge", "value": 2},
                        {"field": "attributes.vip", "op": "eq", "value": True},
                    ]
                }
            },
        ]
    }
    entity = Entity(compiled(BURST, reader(condition)))
    assert entity.fired(event(0, SIGNIN, app="portal")) == ["after-failures"]
    assert entity.fired(event(1, SIGNIN, app="other")) == []
    assert entity.fired(event(2, SIGNIN, app="portal", vip=True)) == []
    assert entity.fired(event(3, FAILED), event(4, FAILED), event(5, SIGNIN, app="portal")) == []


def test_state_is_needed_only_when_the_event_part_of_the_condition_passes() -> None:
    # GIVEN a reader whose condition starts with an event-only equality
    ruleset = compiled(
        reader(
            {
                "all": [
                    {"field": "attributes.app", "op": "eq", "value": "portal"},
                    {"field": "state.failures", "op": "ge", "value": 1},
                ]
            }
        ),
        BURST,
    )
    # THEN sign-ins to another app, and unrelated types, need no state; the portal one does
    assert ruleset.needs_state(event(0, SIGNIN, app="other")) is False
    assert ruleset.needs_state(event(0, "Other/Thing", app="portal")) is False
    assert ruleset.needs_state(event(0, SIGNIN, app="portal")) is True
    assert ruleset.needs_state(event(0, FAILED)) is True


def test_needs_state_respects_pattern_steps_and_rearm() -> None:
    sequence = rule("seq", sequence={"steps": [{"types": ["A/a"]}, {"types": ["B/b"]}], "within": "PT5M"})
    rearming = rule(
        "again", when={"types": ["C/c"]}, condition={"field": "attributes.x", "op": "eq", "value": 1}, rearm=True
    )
    ruleset = compiled(sequence, rearming)
    assert ruleset.needs_state(event(0, "A/a")) and ruleset.needs_state(event(0, "B/b"))
    assert not ruleset.needs_state(event(0, "D/d"))
    assert ruleset.needs_state(event(0, "C/c", x=2))  # it may clear the re-arm


def test_a_type_surprise_in_a_state_comparison_is_no_match() -> None:
    entity = Entity(compiled(BURST, reader({"field": "state.failures", "op": "matches", "value": "^1"})))
    entity.feed(event(0, FAILED))
    assert entity.fired(event(1, SIGNIN)) == []
