"""``squall rules explain`` names the edge case that decided a verdict (docs/rules.md, "Edge cases")."""

from __future__ import annotations

from typing import Any

from shared.rules import RuleDefinition, explain_rule, explain_rules, validate_rules
from tests.unit.test_rules_explain import at, make_rule, state_after


def rules(*raw: dict[str, Any]) -> list[RuleDefinition]:
    checked = validate_rules(list(raw))
    assert checked.errors == [], checked.errors
    return checked.rules


def test_explain_names_a_cooldown_that_ends_exactly_at_the_event() -> None:
    rule = make_rule(cooldown="PT30M")
    explanation = explain_rule(rule, at(30), state_after([rule], at(0)))
    assert explanation.headline == "cool-down ends exactly at 2024-05-01T08:30:00Z: fires"
    assert explanation.to_json()["edge"] == "cool-down ends exactly at 2024-05-01T08:30:00Z"


def test_explain_names_no_edge_when_none_applied() -> None:
    rule = make_rule(cooldown="PT30M")
    explanation = explain_rule(rule, at(31), state_after([rule], at(0)))
    assert (explanation.edge, explanation.headline) == (None, "fires")


def test_explain_names_a_firing_exactly_one_period_earlier() -> None:
    rule = make_rule(max_per_period={"count": 1, "period": "PT1H"})
    explanation = explain_rule(rule, at(60), state_after([rule], at(0)))
    assert explanation.headline == (
        "a firing exactly one period earlier (2024-05-01T08:00:00Z) is outside the period: fires"
    )


def test_explain_names_later_firings_that_suppress_an_out_of_order_event() -> None:
    rule = make_rule(max_per_period={"count": 1, "period": "PT1H"})
    explanation = explain_rule(rule, at(0), state_after([rule], at(30)))
    assert explanation.fired is False
    assert explanation.headline.startswith(
        "firings after this out-of-order event count (2024-05-01T08:30:00Z, within PT1H): suppressed"
    )


def test_explain_names_a_last_step_exactly_within_after_the_first() -> None:
    rule = make_rule("seq", sequence={"within": "PT10M", "steps": [{"types": ["Web/A"]}, {"types": ["Web/B"]}]})
    explanation = explain_rule(rule, at(10, "Web/B"), state_after([rule], at(0, "Web/A")))
    assert explanation.headline == "the last step comes exactly PT10M after the first (2024-05-01T08:00:00Z): fires"


def test_explain_names_an_absence_deadline_due_exactly_at_the_event() -> None:
    spec = {"after": {"types": ["Shop/AddToCart"]}, "missing": {"types": ["Shop/Purchase"]}, "within": "PT30M"}
    rule = make_rule("cart", absence=spec, allowed_lateness="PT5M")
    explanation = explain_rule(rule, at(35, "Shop/AddToCart"), state_after([rule], at(0, "Shop/AddToCart")))
    assert explanation.headline == "deadline due exactly at 2024-05-01T08:35:00Z: fires"


def test_explain_names_a_tumbling_bucket_closed_exactly_when_the_watermark_reached_it() -> None:
    spec = {"aggregate": "count", "size": "PT1H", "kind": "tumbling", "op": "ge", "value": 1}
    rule = make_rule("w", window=spec, allowed_lateness="PT10M")
    explanation = explain_rule(rule, at(50), state_after([rule], at(70)))
    assert explanation.fired is False
    assert explanation.headline.startswith(
        "its bucket closed when the watermark reached 2024-05-01T09:10:00Z (end + allowed lateness): does not fire"
    )


def test_explain_names_a_global_transition_to_the_current_state() -> None:
    machine = {
        "initial": "trial",
        "states": {"trial": {}, "gone": {"on_enter": {"kind": "journey_entry", "event_definition_key": "K"}}},
        "global": [{"to": "gone", "when": {"types": ["Account/Deleted"]}}],
    }
    (rule,) = rules({"id": "life", "machine": machine})
    explanation = explain_rule(rule, at(2, "Account/Deleted"), state_after([rule], at(1, "Account/Deleted")))
    assert explanation.headline == (
        "global transition to 'gone' skipped: the entity is already in it: does not fire: stays in 'gone'"
        " (since 2024-05-01T08:01:00Z)"
    )


def test_explain_names_a_type_surprise_another_child_decided() -> None:
    condition = {"any": [{"field": "attributes.level", "op": "lt", "value": 5},
                         {"field": "attributes.vip", "op": "eq", "value": True}]}  # fmt: skip
    explanation = explain_rule(make_rule(condition=condition), at(0, level="five", vip=True), None)
    assert explanation.headline == (
        "a type surprise at $.condition.any[0] did not decide the any: another child did: fires"
    )


def test_explain_names_a_rearm_seen_through_stop_after_match() -> None:
    top, held = rules(
        {"id": "top", "priority": 10, "stop_after_match": True, "action": {"kind": "journey_entry",
         "event_definition_key": "K"}, "condition": {"field": "attributes.urgent", "op": "eq", "value": True}},
        {"id": "held", "rearm": True, "action": {"kind": "journey_entry", "event_definition_key": "K"},
         "condition": {"field": "attributes.n", "op": "gt", "value": 1}},
    )  # fmt: skip
    state = state_after([top, held], at(0, n=5))
    (explanation,) = explain_rules([top, held], at(1, n=0, urgent=True), state, only="held")
    assert explanation.headline == "top stopped the event, but the condition was false: re-armed: condition false"
