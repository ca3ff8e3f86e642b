"""Windowed aggregates per entity, in event time: sliding and tumbling, every aggregate, bounded state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.rules.definitions.patterns import MAX_OPEN_BUCKETS, MAX_SLIDING_EVENTS
from tests.unit.rule_scenarios import Entity, compiled, event, rule

FAILED = "AzureActiveDirectory/UserLoginFailed"


def window_rule(**window: Any) -> dict[str, Any]:
    spec = {"aggregate": "count", "size": "PT10M", "op": "ge", "value": 3, **window}
    return rule("burst", when={"types": [FAILED]}, window=spec)


def test_sliding_window_counts_only_events_inside_window() -> None:
    # GIVEN "3 failed sign-ins within 10 minutes"
    entity = Entity(compiled(window_rule()))
    # WHEN failures arrive at 0, 6, 11 (0 has slid out), then 12 (6, 11, 12 are inside)
    fired = [entity.fired(event(minute, FAILED)) for minute in (0, 6, 11, 12)]
    # THEN only the fourth event completes three inside one window
    assert fired == [[], [], [], ["burst"]]


def test_sliding_window_boundary_excludes_an_event_exactly_size_old() -> None:
    # GIVEN a 10-minute window  WHEN events arrive at 0, 5 and exactly 10 minutes
    entity = Entity(compiled(window_rule()))
    fired = entity.fired(event(0, FAILED), event(5, FAILED), event(10, FAILED))
    # THEN the window (t - 10 min, t] no longer holds the first one
    assert fired == []


def test_tumbling_window_resets_at_each_bucket_boundary() -> None:
    # GIVEN 3 per 10-minute bucket aligned on the clock (08:00-08:10, 08:10-08:20)
    entity = Entity(compiled(window_rule(kind="tumbling")))
    # WHEN two failures fall in the first bucket and three in the second
    first = entity.fired(event(1, FAILED), event(9, FAILED))
    second = entity.fired(event(10, FAILED), event(11, FAILED), event(19, FAILED))
    # THEN the first bucket never reaches 3, the second does on its third event
    assert (first, second) == ([], ["burst"])


@pytest.mark.parametrize(
    ("aggregate", "op", "value", "amounts", "expected_last"),
    [
        ("sum", "ge", 100, [40, 50, 10], True),
        ("sum", "ge", 100, [40, 50, 9.5], False),
        ("avg", "gt", 20, [10, 30, 30], True),
        ("avg", "gt", 20, [10, 30, 20], False),
        ("min", "lt", 5, [9, 7, 4], True),
        ("max", "ge", 50, [9, 51, 4], True),
        ("max", "ge", 50, [9, 49, 4], False),
        ("distinct", "ge", 3, ["a", "b", "c"], True),
        ("distinct", "ge", 3, ["a", "b", "a"], False),
    ],
)
@pytest.mark.parametrize("kind", ["sliding", "tumbling"])
def test_each_aggregate_compares_the_window_value_with_the_threshold(
    kind: str, aggregate: str, op: str, value: float, amounts: list[Any], expected_last: bool
) -> None:
    # GIVEN a window over attributes.amount
    entity = Entity(
        compiled(window_rule(kind=kind, aggregate=aggregate, field="attributes.amount", op=op, value=value))
    )
    # WHEN three events inside one window carry the amounts
    fired = [
        entity.fired(event(minute, FAILED, amount=amount)) for minute, amount in zip((1, 2, 3), amounts, strict=True)
    ]
    # THEN the last event fires exactly when the aggregate over all three passes
    assert (fired[-1] == ["burst"]) is expected_last


def test_events_without_a_numeric_value_are_not_aggregated() -> None:
    # GIVEN a sum over attributes.amount
    entity = Entity(compiled(window_rule(aggregate="sum", field="attributes.amount", op="ge", value=10)))
    # WHEN events carry text, a boolean, nothing, and then two real numbers
    fired = entity.fired(
        event(1, FAILED, amount="50"), event(2, FAILED, amount=True), event(3, FAILED), event(4, FAILED, amount=4)
    )
    last = entity.fired(event(5, FAILED, amount=6))
    # THEN only the numbers count: 4 + 6 reaches 10 on the last event
    assert (fired, last) == ([], ["burst"])


def test_count_with_a_field_counts_only_events_that_have_it() -> None:
    entity = Entity(compiled(window_rule(field="attributes.ip", value=2)))
    fired = entity.fired(event(1, FAILED, ip="10.0.0.1"), event(2, FAILED), event(3, FAILED, ip=None))
    assert fired == []
    assert entity.fired(event(4, FAILED, ip="10.0.0.2")) == ["burst"]


def test_window_fires_on_every_event_while_true_unless_suppressed() -> None:
    # GIVEN the same window without and with rearm
    plain = Entity(compiled(window_rule()))
    rearmed = Entity(compiled({**window_rule(), "rearm": True}))
    burst = [event(minute, FAILED) for minute in (0, 1, 2, 3, 4)]
    # WHEN five failures arrive within the window
    # THEN the plain rule fires from the third on; the re-arming one once
    assert plain.fired(*burst) == ["burst"] * 3
    assert rearmed.fired(*burst) == ["burst"]


def test_sliding_state_is_pruned_to_the_window_and_capped() -> None:
    # GIVEN a sliding sum (keeps values) and many more events than the cap, one per second
    entity = Entity(compiled(window_rule(aggregate="sum", field="attributes.n", op="ge", value=10**9, size="PT1H")))
    entity.feed(*(event(second / 60, FAILED, n=1) for second in range(MAX_SLIDING_EVENTS + 50)))
    slot = entity.state.data["rules"]["burst"]
    # THEN at most the cap is kept, the newest ones
    assert len(slot["t"]) == len(slot["v"]) == MAX_SLIDING_EVENTS
    assert slot["t"][-1] == max(slot["t"])
    # WHEN an event arrives two hours later
    entity.feed(event(180, FAILED, n=1))
    # THEN everything older than the window is gone
    assert len(entity.state.data["rules"]["burst"]["t"]) == 1


def test_tumbling_state_keeps_only_open_buckets() -> None:
    # GIVEN a 1-minute tumbling count  WHEN events arrive in 40 consecutive minutes
    entity = Entity(compiled(window_rule(kind="tumbling", size="PT1M", value=5)))
    entity.feed(*(event(minute + 0.5, FAILED) for minute in range(40)))
    buckets = entity.state.data["rules"]["burst"]["b"]
    # THEN only the current bucket is kept (no lateness allowed), far below the cap
    assert len(buckets) == 1 <= MAX_OPEN_BUCKETS
    assert len(json.dumps(entity.state.data)) < 300


def test_state_value_reads_the_current_aggregate() -> None:
    # GIVEN a sliding count after two events
    ruleset = compiled(window_rule())
    entity = Entity(ruleset)
    entity.feed(event(0, FAILED), event(5, FAILED))
    # WHEN reading state.burst at 6 and at 12 minutes
    at_six = ruleset.state_value("state.burst", entity.state, event(6).time)
    at_twelve = ruleset.state_value("state.burst", entity.state, event(12).time)
    # THEN it is the count inside the window ending then
    assert (at_six, at_twelve) == (2, 1)


def test_events_the_window_does_not_count_do_not_rearm_it() -> None:
    # GIVEN a re-arming burst rule that counts only failures from the portal
    burst = {**window_rule(), "rearm": True, "condition": {"field": "attributes.app", "op": "eq", "value": "portal"}}
    entity = Entity(compiled(burst))
    assert entity.fired(*(event(minute, FAILED, app="portal") for minute in (0, 1, 2))) == ["burst"]
    # WHEN a failure from another app (not counted) arrives, then another portal failure
    # THEN the burst is still held: the window's count never went below the threshold
    assert entity.fired(event(3, FAILED, app="other"), event(4, FAILED, app="portal")) == []


def test_rule_slot_shows_what_a_window_keeps_for_explanations() -> None:
    ruleset = compiled(window_rule())
    entity = Entity(ruleset)
    entity.feed(event(0, FAILED))
    slot = ruleset.rule_slot("burst", entity.state)
    assert slot is not None and len(slot["t"]) == 1  # type: ignore[arg-type]
    assert ruleset.rule_slot("burst", None) is None and ruleset.rule_slot("nope", entity.state) is None
