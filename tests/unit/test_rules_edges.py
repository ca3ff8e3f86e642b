"""The rule language's edge cases (docs/rules.md, "Edge cases"), one test per question, named by it:
sequences, windows read as state, the watermark, re-arm and machines. Each fails if the documented
answer flips. Time edges, types and the end of input: ``test_rules_edges_time.py``."""

from __future__ import annotations

from typing import Any

from tests.unit.rule_scenarios import ACTION, Entity, compiled, event, rule

A, B, C, READ = "Web/A", "Web/B", "Web/C", "Web/Read"
HIGH = {"field": "attributes.level", "op": "ge", "value": 5}


def sequence(*steps: str, within: str = "PT10M", **extra: Any) -> dict[str, Any]:
    spec = {"within": within, "steps": [{"types": [step]} for step in steps]}
    return rule("seq", sequence=spec, **extra)


def fired_at(entity: Entity, *minutes_and_types: tuple[float, str]) -> list[float]:
    """The minutes of the events that fired ``seq`` (each event fed in the order given)."""
    return [minute for minute, kind in minutes_and_types if entity.fired(event(minute, kind))]


# Sequences


def test_sequence_the_completing_event_also_starts_a_new_partial_match_when_it_matches_step_one() -> None:
    # GIVEN "A then A within 10 minutes"  WHEN A arrives at 0, 1 and 2
    entity = Entity(compiled(sequence(A, A)))
    # THEN 1 completes the match begun at 0 and begins one of its own, which 2 completes
    assert fired_at(entity, (0, A), (1, A), (2, A)) == [1, 2]


def test_sequence_within_is_checked_at_every_step_not_only_the_last() -> None:
    # GIVEN "A, B, C within 10 minutes"  WHEN A at 0, B at 12 (too late to extend), then C of minute 8
    entity = Entity(compiled(sequence(A, B, C, allowed_lateness="PT10M")))
    # THEN nothing fires: B, 12 minutes after A, did not extend the match, so C has nothing to complete
    assert fired_at(entity, (0, A), (12, B), (8, C)) == []


def test_sequence_a_partial_match_is_kept_while_an_event_the_rule_accepts_can_complete_it() -> None:
    # GIVEN "A, B, C within 10 minutes" with 5 minutes of allowed lateness
    entity = Entity(compiled(sequence(A, B, C, allowed_lateness="PT5M")))
    # WHEN A at 0, B at 2, an event at 12 (the match's 10 minutes are over), then C of minute 9 straggles in
    # THEN the match begun at 0 was kept (12 - 5 minutes of lateness is before its end, 10): C completes it
    assert fired_at(entity, (0, A), (2, B), (12, A), (9, C)) == [9]


def test_sequence_a_partial_match_is_dropped_once_its_end_is_behind_the_watermark() -> None:
    # GIVEN the same without allowed lateness  WHEN the same events arrive
    entity = Entity(compiled(sequence(A, B, C)))
    # THEN the event at 12 dropped the match (its end, 10, is behind the watermark): the late C completes nothing
    assert fired_at(entity, (0, A), (2, B), (12, A), (9, C)) == []


def test_sequence_a_completion_suppressed_by_cooldown_still_clears_partial_matches() -> None:
    # GIVEN "A then B within a day", cool-down 1 hour
    entity = Entity(compiled(sequence(A, B, within="P1D", cooldown="PT1H")))
    # WHEN A, B (fires), A, B (inside the cool-down: suppressed), then B after the cool-down
    # THEN the suppressed completion started the sequence over: the last B has no A to complete
    assert fired_at(entity, (0, A), (1, B), (2, A), (3, B), (90, B)) == [1]


def test_sequence_a_completion_stopped_by_a_higher_rule_still_clears_partial_matches() -> None:
    # GIVEN "A then B" below a first-match rule that takes B events marked urgent
    top = rule("top", priority=10, stop_after_match=True, when={"types": [B]},
               condition={"field": "attributes.urgent", "op": "eq", "value": True})  # fmt: skip
    entity = Entity(compiled(top, sequence(A, B)))
    # WHEN A, an urgent B (top fires and stops seq), then a plain B
    fired = [entity.fired(item) for item in (event(0, A), event(1, B, urgent=True), event(2, B))]
    # THEN the stopped completion cleared seq's match: the plain B completes nothing
    assert fired == [[], ["top"], []]


def test_sequence_one_event_is_never_two_consecutive_steps() -> None:
    # GIVEN "A then A"  WHEN a single A arrives  THEN it is step 1 only
    assert fired_at(Entity(compiled(sequence(A, A))), (0, A)) == []


# Windows read as state (state.<window>)


def window(**extra: Any) -> dict[str, Any]:
    spec = {"aggregate": "count", "size": "PT10M", "op": "ge", "value": 100}
    return rule("w", priority=10, when={"types": [A]}, window=spec, **extra)


def reader(condition: dict[str, Any]) -> dict[str, Any]:
    return rule("reader", when={"types": [READ]}, condition=condition)


def test_state_window_reads_the_window_ending_at_the_reading_event() -> None:
    # GIVEN a 10-minute count and a rule that fires while it is 2
    entity = Entity(compiled(window(), reader({"field": "state.w", "op": "eq", "value": 2})))
    entity.feed(event(0, A), event(5, A))
    # WHEN the reading event comes at 12: the window (2, 12] holds one event (the last evaluation saw 2)
    # THEN it reads 1; at 9 it would have read 2
    assert (entity.fired(event(12, READ)), Entity(entity.ruleset).fired(event(0, A), event(5, A), event(9, READ)))\
        == ([], ["reader"])  # fmt: skip


def test_state_window_over_an_empty_span_reads_as_missing_not_zero() -> None:
    # GIVEN a window that counted an event at 0
    entity = Entity(compiled(window(), reader({"field": "state.w", "op": "exists", "value": False})))
    entity.feed(event(0, A))
    # WHEN an event reads it at 20 (the span (10, 20] is empty)  THEN it reads as missing, like a new entity
    assert entity.fired(event(20, READ)) == ["reader"]


def test_state_window_read_by_a_late_event_is_the_current_window() -> None:
    # GIVEN a window with events at 0, 1 and 20 (its watermark: 20)
    entity = Entity(compiled(window(), reader({"field": "state.w", "op": "eq", "value": 1})))
    entity.feed(event(0, A), event(1, A), event(20, A))
    # WHEN an event of minute 5 (late: older than the watermark) reads it
    # THEN it reads the window ending at the watermark, (10, 20]: 1 (not (-5, 5], whose events are gone)
    assert entity.fired(event(5, READ)) == ["reader"]


# Watermark


def test_watermark_advances_only_for_events_that_pass_a_stateful_rules_filter() -> None:
    # GIVEN a window counting high readings
    entity = Entity(compiled(window(condition=HIGH)))
    # WHEN a low reading of minute 30 (a candidate by type, filtered out), then a high one of minute 10
    entity.feed(event(30, A, level=1), event(10, A, level=9))
    # THEN the low reading moved no watermark: the high one is not late
    assert entity.ruleset.take_late_count() == 0


# Re-arm


def alert(**extra: Any) -> dict[str, Any]:
    return rule("high", when={"types": [A]}, condition=HIGH, rearm=True, **extra)


def test_rearm_a_type_surprise_does_not_rearm_the_rule() -> None:
    # GIVEN a re-arming rule that fired  WHEN a reading whose level is text (a type surprise), then a high one
    entity = Entity(compiled(alert()))
    fired = [entity.fired(event(minute, A, level=level)) for minute, level in ((0, 9), (1, "n/a"), (2, 9))]
    # THEN the surprise told nothing about the condition: the rule stays held
    assert fired == [["high"], [], []]


def test_rearm_a_rule_skipped_by_stop_after_match_still_sees_its_condition_clear() -> None:
    # GIVEN a re-arming rule below a first-match rule that takes readings marked urgent
    top = rule("top", priority=10, stop_after_match=True, when={"types": [A]},
               condition={"field": "attributes.urgent", "op": "eq", "value": True})  # fmt: skip
    entity = Entity(compiled(top, alert()))
    # WHEN high (fires), low and urgent (top stops it), high
    items = (event(0, A, level=9), event(1, A, level=1, urgent=True), event(2, A, level=9))
    # THEN the low reading re-armed it although top stopped it: it fires again
    assert [entity.fired(item) for item in items] == [["high"], ["top"], ["high"]]


# Machines

SIGNUP, PURCHASE, DELETE = "Shop/SignUp", "Shop/Purchase", "Account/Deleted"


def machine(**extra: Any) -> dict[str, Any]:
    spec = {
        "initial": "trial",
        "states": {
            "trial": {},
            "active": {"on_enter": {**ACTION, "event_definition_key": "Hi"}},
            "gone": {"on_enter": {**ACTION, "event_definition_key": "Bye"}},
        },
        "transitions": [
            {"from": "trial", "to": "active", "when": {"types": [PURCHASE]}},
            {"from": "gone", "to": "active",
             "when": {"types": [DELETE], "condition": {"field": "attributes.undo", "op": "eq", "value": True}}},
        ],
        "global": [{"to": "gone", "when": {"types": [DELETE]}}],
    }  # fmt: skip
    return rule("life", when={"types": [SIGNUP, PURCHASE, DELETE]}, machine=spec, **extra)


def entries(entity: Entity, *events: Any) -> list[str]:
    return [match.action.event_definition_key for match in entity.feed(*events)]


def test_machine_a_global_transition_to_the_current_state_is_skipped_not_reentered_nor_consumed() -> None:
    entity = Entity(compiled(machine()))
    # GIVEN an entity moved to 'gone' by the global transition
    assert entries(entity, event(0, SIGNUP), event(1, DELETE)) == ["Bye"]
    # WHEN another deletion comes: no second Bye (skipped); with undo, gone's own transition still applies
    assert (entries(entity, event(2, DELETE)), entries(entity, event(3, DELETE, undo=True))) == ([], ["Hi"])


def test_machine_moved_by_an_event_a_higher_rule_stopped_does_not_plan_its_on_enter() -> None:
    # GIVEN a first-match rule above the machine, for purchases
    top = rule("top", priority=10, stop_after_match=True, when={"types": [PURCHASE]})
    entity = Entity(compiled(top, machine()))
    entity.feed(event(0, SIGNUP))
    # WHEN a purchase comes  THEN only top fires; the machine moved to active without planning Hi
    assert entity.fired(event(1, PURCHASE)) == ["top"]
    assert entity.ruleset.state_value("state.life", entity.state, event(1, PURCHASE).time) == "active"
