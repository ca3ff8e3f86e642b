"""The rule language's edge cases (docs/rules.md, "Edge cases"), one test per question, named by it:
edges of time, types, and the end of input. Each fails if the documented answer flips."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shared.pipeline.dry_run import DryRun
from tests.unit.rule_scenarios import T0, Entity, compiled, event, rule

A, CART, PURCHASE = "Web/A", "Shop/AddToCart", "Shop/Purchase"
HIGH = {"field": "attributes.level", "op": "ge", "value": 5}


def fired(entity: Entity, *minutes: float, **attributes: Any) -> list[float]:
    """The minutes (fed in the order given) whose event fired a rule."""
    return [minute for minute in minutes if entity.fired(event(minute, A, **attributes))]


# Edges of time


def test_cooldown_a_rule_may_fire_again_at_exactly_t_plus_cooldown() -> None:
    entity = Entity(compiled(rule("r", when={"types": [A]}, cooldown="PT30M")))
    assert fired(entity, 0, 29.99, 30) == [0, 30]


def test_max_per_period_a_firing_exactly_one_period_earlier_is_outside_the_period() -> None:
    entity = Entity(compiled(rule("r", when={"types": [A]}, max_per_period={"count": 1, "period": "PT1H"})))
    assert fired(entity, 0, 59.99, 60) == [0, 60]


def test_max_per_period_firings_later_than_an_out_of_order_event_count_against_it() -> None:
    # GIVEN at most 1 firing per hour, fired at 0:30
    entity = Entity(compiled(rule("r", when={"types": [A]}, max_per_period={"count": 1, "period": "PT1H"})))
    # WHEN events of minutes 0 (out of order), then -40 arrive
    # THEN 0 would make two firings in one hour ((-30, 30]): suppressed; -40 is more than an hour before 30
    assert fired(entity, 30, 0, -40) == [30, -40]


def absence(**extra: Any) -> dict[str, Any]:
    spec = {"after": {"types": [CART]}, "missing": {"types": [PURCHASE]}, "within": "PT30M"}
    return rule("cart", absence=spec, **extra)


def test_deadline_is_due_when_now_equals_due_at() -> None:
    entity = Entity(compiled(absence()))
    entity.feed(event(0, CART))
    early, due = entity.fire_due(T0 + timedelta(minutes=29, seconds=59)), entity.fire_due(T0 + timedelta(minutes=30))
    assert (early, [match.rule_id for match in due]) == ([], ["cart"])


def test_sequence_a_last_step_exactly_within_after_the_first_completes_it() -> None:
    spec = {"within": "PT10M", "steps": [{"types": [A]}, {"types": [PURCHASE]}]}
    entity = Entity(compiled(rule("seq", sequence=spec)))
    assert entity.fired(event(0, A), event(10, PURCHASE)) == ["seq"]
    assert entity.fired(event(20, A), event(30.01, PURCHASE)) == []


@pytest.mark.parametrize(("watermark", "counted"), [(69.99, True), (70, False)])
def test_tumbling_bucket_closes_when_the_watermark_reaches_end_plus_allowed_lateness(
    watermark: float, counted: bool
) -> None:
    # GIVEN hourly buckets with 10 minutes of allowed lateness, firing at 2 events in a bucket
    spec = {"aggregate": "count", "size": "PT1H", "kind": "tumbling", "op": "ge", "value": 2}
    entity = Entity(compiled(rule("w", when={"types": [A]}, window=spec, allowed_lateness="PT10M")))
    # WHEN an event at 0:30, one that moves the watermark, then one of 0:50 for the first bucket [0:00, 1:00)
    # THEN the bucket still takes it just before 1:10 (end + lateness), not once the watermark is there
    assert (fired(entity, 30, watermark, 50) == [50]) is counted


def test_absence_fires_at_its_deadline_not_deadline_plus_allowed_lateness() -> None:
    # GIVEN an absence of 30 minutes with 10 minutes of allowed lateness
    entity = Entity(compiled(absence(allowed_lateness="PT10M")))
    entity.feed(event(0, CART))
    # WHEN the timer asks at 0:30 and 0:40  THEN it fires at 0:40, with the deadline (0:30) as its time
    early, due = entity.fire_due(T0 + timedelta(minutes=30)), entity.fire_due(T0 + timedelta(minutes=40))
    assert (early, [match.fired_at for match in due]) == ([], [T0 + timedelta(minutes=30)])


def test_absence_an_older_out_of_order_after_event_moves_the_pending_deadline_earlier() -> None:
    # GIVEN an absence of 30 minutes, 10 minutes of allowed lateness, armed by a cart at 0:10 (due 0:40)
    entity = Entity(compiled(absence(allowed_lateness="PT10M")))
    entity.feed(event(10, CART, event_id="cart-10"))
    # WHEN a cart of 0:05 straggles in  THEN the deadline is that cart's: 0:35, decided at 0:45
    entity.feed(event(5, CART, event_id="cart-5"))
    due = entity.fire_due(T0 + timedelta(minutes=45))
    assert [(match.event.id, match.fired_at) for match in due] == [("cart-5", T0 + timedelta(minutes=35))]


# Types


def leaf(op: str, value: Any, field: str = "attributes.x") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def matches(condition: dict[str, Any], **attributes: Any) -> bool:
    return bool(Entity(compiled(rule("r", when={"types": [A]}, condition=condition))).fired(event(0, A, **attributes)))


def test_types_5_and_5_0_are_equal() -> None:
    assert matches(leaf("eq", 5), x=5.0) and matches(leaf("in", [5]), x=5.0) and not matches(leaf("ne", 5.0), x=5)


@pytest.mark.parametrize(
    ("op", "value", "actual"),
    [("ne", 1, "1"), ("ne", "1", 1), ("ne", 5, [5]), ("not_in", [1], "1"), ("not_in", ["a"], ["a"]),
     ("ne", "2024-05-01", 7), ("ne", "2024-05-01", "soon"), ("not_in", ["PT5M"], "soon")],
)  # fmt: skip
def test_types_ne_and_not_in_hold_across_kinds_without_a_type_surprise(op: str, value: Any, actual: Any) -> None:
    positive = "eq" if op == "ne" else "in"
    assert matches(leaf(op, value), x=actual) and not matches(leaf(positive, value), x=actual)


def test_types_contains_sees_an_iso_looking_string_as_text() -> None:
    assert matches(leaf("contains", "05-01T08"), x="2024-05-01T08:00:00Z")


def test_types_a_surprise_in_one_branch_of_any_does_not_fail_the_rule_when_another_branch_holds() -> None:
    surprise, holds, fails = leaf("lt", 5, "attributes.level"), leaf("eq", True, "attributes.vip"), leaf("eq", 1)
    assert matches({"any": [surprise, holds]}, level="five", vip=True)
    assert matches({"any": [holds, surprise]}, level="five", vip=True)
    # AND with no branch true, the surprise fails the rule (no match), as does `all` unless a child is false
    assert not matches({"any": [surprise, fails]}, level="five", x=2)


def test_types_a_surprise_inside_not_fails_the_rule() -> None:
    # `not` of a type surprise is a surprise, not true: "level is not below 5" is no match for "five"
    assert not matches({"not": leaf("lt", 5, "attributes.level")}, level="five")


def test_types_a_false_child_decides_all_even_after_a_surprise() -> None:
    # GIVEN a re-arming rule: only a false condition re-arms it, a surprise does not
    condition = {"all": [leaf("lt", 5, "attributes.level"), leaf("eq", True, "attributes.on")]}
    entity = Entity(compiled(rule("r", when={"types": [A]}, condition=condition, rearm=True)))
    # WHEN it fires, then level is text and on is false (the all is false whatever the order), then it holds
    steps = ((0, 1, True), (1, "x", False), (2, 1, True))
    outcome = [entity.fired(event(minute, A, level=level, on=on)) for minute, level, on in steps]
    # THEN the false `on` re-armed it
    assert outcome == [["r"], [], ["r"]]


# End of input (squall rules test)


def test_end_of_input_the_event_clock_runs_to_the_last_event_plus_the_longest_wait_deciding_every_deadline() -> None:
    # GIVEN an absence of 30 minutes with 10 of allowed lateness, and a cart at 0:00 as the only event
    run = DryRun(compiled(absence(allowed_lateness="PT10M")), clock="event")
    body = {"id": "cart-1", "source": "json", "type": CART, "time": "2024-05-01T08:00:00Z", "entity": "ada"}
    run.feed(json.dumps(body).encode())
    # WHEN the input ends  THEN the clock runs to 0:40 and the pending deadline fires, at its time (0:30)
    report = run.finish()
    assert report.ended_at == T0 + timedelta(minutes=40)
    firings = [(firing.rule_id, firing.time, firing.trigger) for firing in report.firings]
    assert firings == [("cart", T0 + timedelta(minutes=30), "deadline")]
