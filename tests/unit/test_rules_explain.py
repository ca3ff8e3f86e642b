"""explain_rule / explain_rules: per-condition results, values compared, cool-downs, and the engine's verdict."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events.models import Event
from shared.rules import (
    ConditionFailed,
    RuleDefinition,
    compile_rule,
    compile_ruleset,
    explain_rule,
    explain_rules,
    format_duration,
    validate_rules,
)
from shared.rules.explain.values import PREVIEW_CHARS, preview_value
from shared.store.models import EntityState

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
TEAMS = "MicrosoftTeams/TeamsSessionStarted"


def make_event(event_type: str = TEAMS, *, source: str = "o365", time: datetime = T0, **attributes: Any) -> Event:
    return Event(
        id="evt-1",
        source=source,  # type: ignore[arg-type]
        type=event_type,
        time=time,
        entity="ada@contoso.com",
        tenant="tenant-1",
        attributes=attributes,
    )


def make_rule(rule_id: str = "r1", **fields: Any) -> RuleDefinition:
    raw = {"id": rule_id, "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-x"}, **fields}
    checked = validate_rules([raw])
    assert checked.errors == [], checked.errors
    return checked.rules[0]


def test_leaf_results_show_operator_expected_and_actual_values() -> None:
    # GIVEN a rule with two leaves, one true and one false for the event
    rule = make_rule(
        when={"source": "o365", "types": [TEAMS]},
        condition={
            "all": [
                {"field": "attributes.user_type", "op": "eq", "value": "regular"},
                {"field": "attributes.count", "op": "gt", "value": 10},
            ]
        },
    )
    # WHEN explained for an event with user_type regular and count 3
    explanation = explain_rule(rule, make_event(user_type="regular", count=3), None)
    # THEN each leaf names field, operator, literal and the value found, with its result
    first, second = explanation.condition.children  # type: ignore[union-attr]
    assert (first.field, first.op, first.expected, first.result) == ("attributes.user_type", "eq", "'regular'", True)
    assert str(first.actual) == "string 'regular'"
    assert (second.op, second.expected, str(second.actual), second.result) == ("gt", "10", "number 3", False)
    assert explanation.condition_result is False
    assert (explanation.fired, explanation.verdict) == (False, "condition false")


def test_missing_and_null_fields_are_false_with_a_note_except_for_exists() -> None:
    rule = make_rule(
        condition={
            "any": [
                {"field": "attributes.gone", "op": "ne", "value": "x"},
                {"field": "attributes.empty", "op": "eq", "value": "x"},
                {"field": "attributes.gone", "op": "exists", "value": False},
            ]
        }
    )
    explanation = explain_rule(rule, make_event(empty=None), None)
    missing, null, exists = explanation.condition.children  # type: ignore[union-attr]
    assert (missing.result, missing.actual.type) == (False, "missing")  # type: ignore[union-attr]
    assert "missing" in (missing.note or "")
    assert (null.result, null.actual.type) == (False, "null")  # type: ignore[union-attr]
    assert exists.result is True
    assert explanation.fired is True


def test_operator_failure_on_an_event_value_is_explained_as_no_match_with_types_only() -> None:
    # GIVEN a numeric comparison and an event whose value is text
    rule = make_rule(condition={"all": [{"field": "attributes.size", "op": "lt", "value": 5}]})
    # WHEN explained
    explanation = explain_rule(rule, make_event(size="five-secret-value"), None)
    # THEN the leaf has no result and an error naming types, never the value; the rule does not fire
    leaf = explanation.condition.children[0]  # type: ignore[union-attr]
    assert leaf.result is None
    assert leaf.error == "OperandTypeError: expected number, got string"
    assert "five-secret-value" not in (explanation.condition.error or "")  # type: ignore[union-attr]
    assert explanation.fired is False
    assert explanation.verdict.startswith("condition failed (counts as no match): $.condition.all[0]:")


def test_leaves_after_the_deciding_one_are_flagged_as_not_reached() -> None:
    # GIVEN an all whose first leaf is false and whose second would fail on the event
    rule = make_rule(
        condition={
            "all": [
                {"field": "attributes.kind", "op": "eq", "value": "b"},
                {"field": "attributes.size", "op": "lt", "value": 5},
            ]
        }
    )
    explanation = explain_rule(rule, make_event(kind="a", size="text"), None)
    # THEN the engine's short-circuit is mirrored: the rule is simply false, the failure not reached
    tree = explanation.condition
    assert tree is not None and tree.result is False and tree.error is None
    assert tree.children[1].evaluated is False and tree.children[1].error is not None
    assert explanation.verdict == "condition false"


def test_field_against_field_shows_both_values() -> None:
    rule = make_rule(condition={"field": "attributes.ObjectId", "op": "eq", "value_field": "entity"})
    explanation = explain_rule(rule, make_event(ObjectId="ada@contoso.com"), None)
    leaf = explanation.condition
    assert leaf is not None and leaf.result is True
    assert (leaf.expected_field, str(leaf.other_actual)) == ("entity", "string 'ada@contoso.com'")


def test_values_are_redacted_to_type_and_a_short_preview() -> None:
    long_text = "x" * 500
    assert str(preview_value({"Parameters": [1, 2], "Secret": "s"})) == "object {2 keys}"
    assert str(preview_value([1, 2, 3])) == "array [3 items]"
    shown = str(preview_value(long_text))
    assert len(shown) < PREVIEW_CHARS + 40 and shown.endswith("(500 chars)")
    assert preview_value("bell\x07").preview == "'bell\\x07'"  # control characters never reach a terminal


def test_when_filter_mismatch_names_source_or_type() -> None:
    rule = make_rule(when={"source": "o365", "types": ["Exchange/*", "SharePoint/FileAccessed"]})
    by_type = explain_rule(rule, make_event(TEAMS), None)
    by_source = explain_rule(rule, make_event("Exchange/Send", source="json"), None)
    assert by_type.when.matched is False and by_type.fired is False
    assert by_type.verdict == f"not a candidate: type '{TEAMS}' matches none of Exchange/*, SharePoint/FileAccessed"
    assert by_source.verdict == "not a candidate: source 'json' is not 'o365'"
    assert explain_rule(rule, make_event("Exchange/Send"), None).when.matched_pattern == "Exchange/*"


def test_cooldown_suppression_shows_last_firing_and_until_without_changing_the_state() -> None:
    # GIVEN a rule with a one-day cool-down that fired for the entity six hours before the event
    rule = make_rule(cooldown="P1D")
    state = EntityState(entity="ada@contoso.com", data={"cooldowns": {"r1": "2024-05-01T02:00:00Z"}})
    before = copy.deepcopy(state.data)
    # WHEN explained
    explanation = explain_rule(rule, make_event(), state)
    # THEN it is suppressed until last firing + 1 day, and the state is untouched
    cooldown = explanation.cooldown
    assert cooldown is not None and cooldown.suppressed is True
    assert cooldown.last_fired == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert cooldown.until == datetime(2024, 5, 2, 2, 0, tzinfo=UTC)
    assert explanation.fired is False
    assert explanation.verdict == (
        "suppressed: cool-down P1D runs until 2024-05-02T02:00:00Z (last fired 2024-05-01T02:00:00Z)"
    )
    assert state.data == before


def test_expired_cooldown_and_no_state_let_the_rule_fire() -> None:
    rule = make_rule(cooldown="PT1H")
    state = EntityState(entity="ada@contoso.com", data={"cooldowns": {"r1": "2024-05-01T06:00:00Z"}})
    expired = explain_rule(rule, make_event(), state)
    fresh = explain_rule(rule, make_event(), None)
    assert (expired.fired, expired.cooldown.suppressed) == (True, False)  # type: ignore[union-attr]
    assert expired.cooldown.reason.startswith("cool-down ended at 2024-05-01T07:00:00Z")  # type: ignore[union-attr]
    assert fresh.fired is True and fresh.notes == ("no state given (or empty): explained as a new entity",)


def test_rule_set_explanation_follows_priority_and_stop_after_match() -> None:
    # GIVEN a high-priority stopping rule and a lower one that also matches
    stopper = make_rule("stopper", priority=10, stop_after_match=True)
    lower = make_rule("lower", priority=1)
    disabled = make_rule("off", enabled=False)
    # WHEN the set is explained
    explanations = explain_rules([lower, disabled, stopper], make_event(), None)
    # THEN in engine order: the stopper fires, the lower one is skipped because of it
    assert [(e.rule_id, e.fired, e.verdict) for e in explanations] == [
        ("stopper", True, "fires"),
        ("lower", False, "skipped: stopper fired first and has stop_after_match"),
        ("off", False, "disabled"),
    ]


def test_json_form_is_plain_json_with_the_tree() -> None:
    rule = make_rule(cooldown="P30D", condition={"not": {"field": "entity", "op": "contains", "value": "#EXT#"}})
    document = json.loads(json.dumps(explain_rule(rule, make_event(), None).to_json()))
    assert document["condition"]["kind"] == "not"
    assert document["condition"]["children"][0]["actual"] == {"type": "string", "preview": "'ada@contoso.com'"}
    assert document["cooldown"]["cooldown"] == "P30D"
    assert document["fired"] is True


def test_durations_are_shown_as_iso_8601() -> None:
    assert [format_duration(d) for d in (timedelta(days=30), timedelta(hours=1, minutes=30), timedelta(0))] == [
        "P30D",
        "PT1H30M",
        "PT0S",
    ]


LEAVES = [
    {"field": "attributes.a", "op": "eq", "value": "x"},
    {"field": "attributes.a", "op": "ne", "value": 1},
    {"field": "attributes.a", "op": "lt", "value": 5},
    {"field": "attributes.a", "op": "le", "value": "2024-05-01"},
    {"field": "attributes.a", "op": "ge", "value_field": "attributes.b"},
    {"field": "attributes.a", "op": "in", "value": ["x", 1, True]},
    {"field": "attributes.a", "op": "not_in", "value": ["2024-05-01"]},
    {"field": "attributes.a", "op": "contains", "value": "x"},
    {"field": "attributes.a", "op": "starts_with", "value": ["a", "b"]},
    {"field": "attributes.a", "op": "ends_with", "value_field": "attributes.b"},
    {"field": "attributes.a", "op": "matches", "value": "^a"},
    {"field": "attributes.a.b", "op": "exists"},
    {"field": "attributes.a", "op": "between", "value": [1, 10]},
    {"field": "time", "op": "between", "value": ["2024-01-01", "2025-01-01"]},
    {"field": "attributes.a", "op": "eq", "value_field": "time"},
]
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-20, 20),
        st.floats(allow_nan=False),
        st.sampled_from(["x", "ab", "2024-05-01", "PT5M", "", "xa"]),
    ),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2),
    max_leaves=4,
)
conditions = st.recursive(
    st.sampled_from(LEAVES),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"all": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=conditions, attributes=st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2))
def test_explanation_agrees_with_the_compiled_condition(condition: dict[str, Any], attributes: dict[str, Any]) -> None:
    # GIVEN any well-formed condition and any event
    rule = make_rule(condition=condition)
    event = make_event(**attributes)
    # WHEN the compiled check runs and the explanation is built
    try:
        expected: bool | None = compile_rule(rule).check(event)
    except ConditionFailed:
        expected = None
    explanation = explain_rule(rule, event, None)
    # THEN they agree: same result, and a failure where the engine fails
    assert explanation.condition_result is expected
    assert explanation.fired is (expected is True)


def state_after(rules: list[RuleDefinition], *events: Event) -> EntityState:
    """The entity's state after the engine took ``events`` (built by the engine, not by hand)."""
    ruleset = compile_ruleset(rules)
    state = EntityState(entity="ada@contoso.com")
    for earlier in events:
        ruleset.evaluate(earlier, state)
    return state


def at(minutes: int, event_type: str = TEAMS, *, event_id: str | None = None, **attributes: Any) -> Event:
    return make_event(event_type, time=T0 + timedelta(minutes=minutes), **attributes).model_copy(
        update={"id": event_id or f"evt-{minutes}"}
    )


def test_window_shows_its_contents_and_aggregate_against_the_threshold() -> None:
    # GIVEN a sliding 10-minute count window (fires at 3) that took events at 0 and 4 minutes
    rule = make_rule("burst", window={"aggregate": "count", "size": "PT10M", "op": "ge", "value": 3})
    state = state_after([rule], at(0), at(4))
    # WHEN an event at 12 minutes is explained (the one at 0 has slid out)
    explanation = explain_rule(rule, at(12), state)
    # THEN the window lists the events inside it, with the aggregate and whether the threshold is met
    (window,) = explanation.stateful
    assert window.details["current"] == 2
    assert window.details["times"] == ["2024-05-01T08:04:00Z", "2024-05-01T08:12:00Z"]
    assert window.summary == (
        "count over sliding PT10M (2024-05-01T08:02:00Z, 2024-05-01T08:12:00Z] = 2; fires when ge 3: not met"
    )
    assert explanation.verdict.startswith("does not fire: count over sliding PT10M")
    assert explain_rule(rule, at(5), state).fired is True


def test_sequence_shows_progress_and_which_step_the_event_matches() -> None:
    steps = [{"types": ["Web/Pricing"]}, {"types": ["Shop/TrialStarted"]}, {"types": ["Shop/Purchase"]}]
    rule = make_rule("funnel", sequence={"steps": steps, "within": "P1D"})
    state = state_after([rule], at(0, "Web/Pricing"))
    explanation = explain_rule(rule, at(30, "Shop/TrialStarted"), state)
    (sequence,) = explanation.stateful
    assert sequence.summary == (
        "furthest partial match: 1 of 3 steps, started 2024-05-01T08:00:00Z, to complete by "
        "2024-05-02T08:00:00Z; this event matches step 2"
    )
    assert explanation.when.matched_pattern == "Shop/TrialStarted"  # types from the steps
    assert explanation.fired is False


def test_absence_shows_the_pending_deadline_and_what_the_event_does_to_it() -> None:
    absence = {"after": {"types": ["Shop/AddToCart"]}, "missing": {"types": ["Shop/Purchase"]}, "within": "PT1H"}
    rule = make_rule("abandoned-cart", absence=absence)
    state = state_after([rule], at(0, "Shop/AddToCart", event_id="cart-1"))
    waiting = explain_rule(rule, at(10, "Shop/AddToCart"), state)
    cancelled = explain_rule(rule, at(20, "Shop/Purchase"), state)
    assert waiting.stateful[0].summary == (
        "this event is 'after'; armed by event cart-1: fires at 2024-05-01T09:00:00Z"
        " unless a 'missing' event comes first"
    )
    assert cancelled.stateful[0].summary == (
        "this event is 'missing'; the pending deadline was cancelled or fired by this event"
    )
    assert state.data["rules"]["abandoned-cart"]["due"]  # the caller's state still has its deadline


def test_machine_shows_the_transition_and_rules_reading_state_see_it() -> None:
    machine = {
        "initial": "trial",
        "states": {"trial": {}, "active": {"on_enter": {"kind": "journey_entry", "event_definition_key": "K"}}},
        "transitions": [{"from": "trial", "to": "active", "when": {"types": ["Shop/Purchase"]}}],
    }
    action = {"kind": "journey_entry", "event_definition_key": "APIEvent-vip"}
    checked = validate_rules(
        [
            {"id": "lifecycle", "priority": 10, "when": {"types": ["Shop/*"]}, "machine": machine},
            {"id": "vip", "condition": {"field": "state.lifecycle", "op": "eq", "value": "active"}, "action": action},
        ]
    )
    assert checked.errors == []
    lifecycle, vip = checked.rules
    state = state_after([lifecycle, vip], at(0, "Shop/SignUp"))
    explanations = explain_rules([lifecycle, vip], at(5, "Shop/Purchase"), state)
    assert [(e.rule_id, e.fired) for e in explanations] == [("lifecycle", True), ("vip", True)]
    assert explanations[0].stateful[0].summary == "moves 'trial' -> 'active'"
    fresh = explain_rules([lifecycle, vip], at(5, "Shop/Purchase"), None)
    assert fresh[0].stateful[0].summary == "a new entity for this machine: enters 'trial', then moves to 'active'"
    leaf = explanations[1].condition
    assert leaf is not None and str(leaf.actual) == "string 'active'" and leaf.result is True


def test_rate_limit_and_rearm_explain_a_suppressed_match() -> None:
    limited = make_rule("limited", max_per_period={"count": 2, "period": "PT1H"})
    state = state_after([limited], at(0), at(10))
    explanation = explain_rule(limited, at(20), state)
    assert explanation.fired is False
    assert explanation.verdict == (
        "suppressed: 2 of 2 firings in the PT1H before the event: full until 2024-05-01T09:00:00Z"
    )
    held = make_rule("held", rearm=True, condition={"field": "attributes.n", "op": "gt", "value": 1})
    held_state = state_after([held], at(0, n=5))
    assert explain_rule(held, at(1, n=5), held_state).verdict == (
        "suppressed: held: it fired and its condition has not been false since"
    )
    assert explain_rule(held, at(1, n=0), held_state).verdict == "condition false"
