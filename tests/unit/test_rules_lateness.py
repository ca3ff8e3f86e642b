"""Late and out-of-order events: the per-entity watermark, allowed lateness per rule, the late
counter for the batch report, and each pattern's stated policy."""

from __future__ import annotations

from typing import Any

from tests.unit.rule_scenarios import Entity, compiled, event, rule

FAILED = "AzureActiveDirectory/UserLoginFailed"


def tumbling(**extra: Any) -> dict[str, Any]:
    window = {"aggregate": "count", "size": "PT10M", "kind": "tumbling", "op": "ge", "value": 2}
    return rule("per-bucket", when={"types": [FAILED]}, window=window, **extra)


def test_out_of_order_events_are_counted_as_late() -> None:
    # GIVEN a window rule and events at 20, 5 (out of order) and 21 minutes
    ruleset = compiled(tumbling())
    entity = Entity(ruleset)
    entity.feed(event(20, FAILED), event(5, FAILED), event(21, FAILED))
    # THEN one late event is reported, once
    assert ruleset.take_late_count() == 1
    assert ruleset.take_late_count() == 0


def test_events_within_allowed_lateness_are_not_late() -> None:
    ruleset = compiled(tumbling(allowed_lateness="PT15M"))
    Entity(ruleset).feed(event(20, FAILED), event(5, FAILED))
    assert ruleset.take_late_count() == 0


def test_late_event_is_applied_to_a_tumbling_bucket_still_open() -> None:
    # GIVEN 15 minutes of allowed lateness: the 08:00-08:10 bucket stays open until 08:25
    entity = Entity(compiled(tumbling(allowed_lateness="PT15M")))
    entity.feed(event(1, FAILED), event(20, FAILED))
    # WHEN a failure from 08:05 arrives  THEN it completes the first bucket
    assert entity.fired(event(5, FAILED)) == ["per-bucket"]


def test_event_for_a_closed_bucket_is_not_applied() -> None:
    # GIVEN no lateness: the first bucket closed when 08:20 was seen
    ruleset = compiled(tumbling())
    entity = Entity(ruleset)
    entity.feed(event(1, FAILED), event(20, FAILED))
    # WHEN a failure from 08:05 arrives  THEN it is late, counted, and completes nothing
    assert entity.fired(event(5, FAILED)) == []
    assert ruleset.take_late_count() == 1


def test_sliding_window_takes_a_late_event_inside_the_current_window() -> None:
    window = {"aggregate": "count", "size": "PT10M", "op": "ge", "value": 2}
    entity = Entity(compiled(rule("w", when={"types": [FAILED]}, window=window)))
    entity.feed(event(20, FAILED))
    assert entity.fired(event(15, FAILED)) == ["w"]  # 15 is inside (10, 20]
    assert entity.fired(event(2, FAILED)) == []  # outside every open window


def test_stateless_rules_advance_no_watermark() -> None:
    ruleset = compiled(rule("plain", when={"types": [FAILED]}), tumbling())
    entity = Entity(ruleset)
    entity.feed(event(20, "Other/Thing"), event(5, FAILED))
    assert ruleset.take_late_count() == 0
