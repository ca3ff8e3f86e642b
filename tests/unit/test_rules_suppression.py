"""Suppression per (rule, entity): max N firings per period, re-arm when the condition clears,
together with cool-downs; a suppressed match does not stop lower rules."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.rule_scenarios import Entity, compiled, event, rule

START = 1714550400000  # T0 in ms
HIGH = {"field": "attributes.level", "op": "ge", "value": 5}


def alert(**extra: Any) -> dict[str, Any]:
    return rule("high", when={"types": ["Sensor/Reading"]}, condition=HIGH, **extra)


def readings(*levels_at: tuple[float, int]) -> list[Any]:
    return [event(minute, "Sensor/Reading", level=level) for minute, level in levels_at]


def test_max_per_period_allows_n_firings_in_any_period() -> None:
    # GIVEN at most 2 firings per hour
    entity = Entity(compiled(alert(max_per_period={"count": 2, "period": "PT1H"})))
    # WHEN high readings arrive at 0, 10, 20 and 61 minutes
    fired = [entity.fired(item) for item in readings((0, 9), (10, 9), (20, 9), (61, 9))]
    # THEN the third is suppressed; at 61 the firing at 0 has left the hour
    assert fired == [["high"], ["high"], [], ["high"]]
    # AND without a watermark, the firings kept are those within two periods of the newest
    assert entity.state.data["fired"]["high"] == [START + minute * 60_000 for minute in (0, 10, 61)]


def test_rearm_fires_once_until_the_condition_has_been_false() -> None:
    entity = Entity(compiled(alert(rearm=True)))
    fired = [entity.fired(item) for item in readings((0, 9), (1, 9), (2, 1), (3, 9), (4, 9))]
    assert fired == [["high"], [], [], ["high"], []]


def test_rearm_and_cooldown_together() -> None:
    # GIVEN rearm and a 30-minute cool-down
    entity = Entity(compiled(alert(rearm=True, cooldown="PT30M")))
    # WHEN the condition clears and holds again inside the cool-down, and again after it
    fired = [entity.fired(item) for item in readings((0, 9), (5, 1), (10, 9), (40, 9))]
    # THEN the cool-down blocks the second; since it never fired, the rule is not held and fires at 40
    assert fired == [["high"], [], [], ["high"]]


def test_a_suppressed_match_does_not_stop_lower_rules() -> None:
    # GIVEN a high-priority first-match rule limited to 1 per day, and a lower rule
    top = alert(priority=10, stop_after_match=True, max_per_period={"count": 1, "period": "P1D"})
    low = rule("any-reading", when={"types": ["Sensor/Reading"]})
    entity = Entity(compiled(top, low))
    # WHEN two high readings arrive
    first, second = (entity.fired(item) for item in readings((0, 9), (1, 9)))
    # THEN the first stops the lower rule; the suppressed second lets it fire
    assert (first, second) == (["high"], ["any-reading"])


def test_suppression_state_of_removed_rules_is_dropped() -> None:
    entity = Entity(compiled(alert(rearm=True, max_per_period={"count": 3, "period": "P1D"})))
    entity.feed(*readings((0, 9)))
    assert set(entity.state.data) >= {"held", "fired"}
    entity.ruleset = compiled(rule("other", when={"types": ["Sensor/Reading"]}, rearm=True), version=2)
    entity.feed(*readings((1, 0)))
    assert "fired" not in entity.state.data and "high" not in json.dumps(entity.state.data)


def test_max_per_period_judges_an_out_of_order_event_against_the_firings_before_it() -> None:
    # GIVEN at most 2 firings per hour (issue 15, defect 3)
    entity = Entity(compiled(alert(max_per_period={"count": 2, "period": "PT1H"})))
    # WHEN it fires at 0 and 10, then at 75 (the hour before holds none), then a reading of 20 arrives
    fired = [entity.fired(item) for item in readings((0, 9), (10, 9), (75, 9), (20, 9))]
    # THEN the reading of 20 is suppressed: 2 firings (0, 10) already happened in the hour before it
    assert fired == [["high"], ["high"], ["high"], []]
