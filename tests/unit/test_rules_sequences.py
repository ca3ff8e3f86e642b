"""Sequences per entity: steps in order, within a time, other events allowed in between."""

from __future__ import annotations

from typing import Any

from tests.unit.rule_scenarios import Entity, compiled, event, rule


def sequence_rule(*step_types: str, within: str = "PT10M", **extra: Any) -> dict[str, Any]:
    steps = [{"types": [step_type]} for step_type in step_types]
    return rule("seq", sequence={"steps": steps, "within": within}, **extra)


def test_steps_in_order_within_the_time_fire_once() -> None:
    # GIVEN "A then B within 10 minutes"
    entity = Entity(compiled(sequence_rule("A/a", "B/b")))
    # WHEN A, an unrelated event, then B 9 minutes after A arrive
    fired = entity.fired(event(0, "A/a"), event(3, "Other/x"), event(9, "B/b"))
    # THEN it fires on B, once
    assert fired == ["seq"]


def test_steps_out_of_order_or_too_late_do_not_fire() -> None:
    # GIVEN the same rule
    entity = Entity(compiled(sequence_rule("A/a", "B/b")))
    # WHEN B comes before A, and then a B 11 minutes after the A
    fired = entity.fired(event(0, "B/b"), event(1, "A/a"), event(12, "B/b"))
    # THEN nothing fires
    assert fired == []


def test_the_latest_start_gives_a_late_finish_its_chance() -> None:
    # GIVEN A, then another A 8 minutes later
    entity = Entity(compiled(sequence_rule("A/a", "B/b")))
    entity.feed(event(0, "A/a"), event(8, "A/a"))
    # WHEN B arrives 15 minutes after the first A (7 after the second)
    # THEN the second A's run completes it
    assert entity.fired(event(15, "B/b")) == ["seq"]


def test_a_completed_sequence_starts_over() -> None:
    # GIVEN a completed A -> B
    entity = Entity(compiled(sequence_rule("A/a", "B/b")))
    entity.feed(event(0, "A/a"), event(1, "B/b"))
    # WHEN another B arrives without a new A, then an A and a B
    again_without_a = entity.fired(event(2, "B/b"))
    with_new_a = entity.fired(event(3, "A/a"), event(4, "B/b"))
    # THEN only the new pair fires
    assert (again_without_a, with_new_a) == ([], ["seq"])


def test_three_steps_need_the_middle_one() -> None:
    entity = Entity(compiled(sequence_rule("A/a", "B/b", "C/c")))
    assert entity.fired(event(0, "A/a"), event(1, "C/c")) == []
    assert entity.fired(event(2, "B/b"), event(3, "C/c")) == ["seq"]


def test_one_event_advances_a_match_by_one_step_only() -> None:
    # GIVEN "X then X then X": three events of one type
    entity = Entity(compiled(sequence_rule("X/x", "X/x", "X/x")))
    # WHEN two arrive  THEN nothing yet; the third completes it
    assert entity.fired(event(0, "X/x"), event(1, "X/x")) == []
    assert entity.fired(event(2, "X/x")) == ["seq"]


def test_step_conditions_and_the_rule_condition_both_apply() -> None:
    # GIVEN steps with conditions and a rule-level condition
    spec = {
        "steps": [
            {"types": ["Shop/View"], "condition": {"field": "attributes.sku", "op": "eq", "value": "pro"}},
            {"types": ["Shop/Purchase"]},
        ],
        "within": "PT1H",
    }
    entity = Entity(compiled(rule("seq", sequence=spec, condition={"field": "tenant", "op": "exists", "value": False})))
    # WHEN a view of another sku then a purchase; then the right view then a purchase
    assert entity.fired(event(0, "Shop/View", sku="basic"), event(1, "Shop/Purchase")) == []
    assert entity.fired(event(2, "Shop/View", sku="pro"), event(3, "Shop/Purchase")) == ["seq"]


def test_sequence_state_is_one_start_per_step() -> None:
    entity = Entity(compiled(sequence_rule("A/a", "B/b", "C/c", "D/d")))
    entity.feed(*(event(minute / 10, "A/a") for minute in range(100)), event(11, "B/b"))
    assert len(entity.state.data["rules"]["seq"]["r"]) == 3
