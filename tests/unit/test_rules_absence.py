"""Absence: A and no B within T, fired on time alone by fire_due, with the A event's data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.actions.planning import plan_actions
from tests.unit.rule_scenarios import ACTION, T0, Entity, compiled, event, rule

CART, PURCHASE = "Shop/AddToCart", "Shop/Purchase"


def absence_rule(**extra: Any) -> dict[str, Any]:
    spec = {"after": {"types": [CART]}, "missing": {"types": [PURCHASE]}, "within": "P1D"}
    action = {**ACTION, "data": {"Sku": "{attributes.sku}", "At": "{time}", "Tenant": "{tenant}"}}
    return {**rule("abandoned-cart", absence=spec, **extra), "action": action}


def test_deadline_fires_on_time_alone_with_the_arming_events_data() -> None:
    # GIVEN a cart event and nothing else
    entity = Entity(compiled(absence_rule()))
    cart = event(0, CART, event_id="cart-1", tenant="contoso", sku="pro", payload="x" * 1000)
    assert entity.fired(cart) == []
    # WHEN the timer asks just before and at the deadline
    early = entity.fire_due(T0 + timedelta(days=1) - timedelta(seconds=1))
    due = entity.fire_due(T0 + timedelta(days=1))
    # THEN it fires once, at the deadline, for the cart event, and nothing is left pending
    assert early == []
    assert [(m.rule_id, m.event.id, m.fired_at) for m in due] == [("abandoned-cart", "cart-1", T0 + timedelta(days=1))]
    assert entity.state.due_at is None
    assert entity.fire_due(T0 + timedelta(days=5)) == []
    # AND the action renders from the kept snapshot, which holds only what the templates read
    (planned,) = plan_actions(due).actions
    assert planned.data == {"Sku": "pro", "At": "2024-05-01T08:00:00Z", "Tenant": "contoso"}
    assert (planned.contact_key, planned.event_id) == (cart.entity, "cart-1")
    assert due[0].event.attributes == {"sku": "pro"}


def test_missing_event_in_time_cancels_the_deadline() -> None:
    entity = Entity(compiled(absence_rule()))
    entity.feed(event(0, CART, sku="pro"), event(60, PURCHASE))
    assert entity.state.due_at is None
    assert entity.fire_due(T0 + timedelta(days=2)) == []


def test_due_at_tracks_the_pending_deadline() -> None:
    # GIVEN a rule set with an absence rule  WHEN a cart event arms it
    ruleset = compiled(absence_rule())
    entity = Entity(ruleset)
    entity.feed(event(30, CART, sku="pro"))
    # THEN the state's due_at and next_deadline name the deadline
    deadline = T0 + timedelta(days=1, minutes=30)
    assert entity.state.due_at == ruleset.next_deadline(entity.state) == deadline


def test_more_after_events_do_not_move_a_pending_deadline() -> None:
    entity = Entity(compiled(absence_rule()))
    entity.feed(event(0, CART, event_id="first", sku="a"), event(600, CART, event_id="second", sku="b"))
    (match,) = entity.fire_due(T0 + timedelta(days=1))
    assert match.event.id == "first"


def test_a_later_event_past_the_deadline_fires_it_in_event_time() -> None:
    # GIVEN a pending deadline  WHEN a purchase arrives two days later (too late to cancel)
    entity = Entity(compiled(absence_rule()))
    entity.feed(event(0, CART, event_id="cart-1", sku="pro"))
    matches = entity.feed(event(2 * 24 * 60, PURCHASE))
    # THEN the absence fires with that evaluation (replays behave like live time)
    assert [(m.rule_id, m.event.id) for m in matches] == [("abandoned-cart", "cart-1")]


def test_allowed_lateness_delays_firing_so_a_straggler_can_cancel() -> None:
    # GIVEN five minutes of allowed lateness
    entity = Entity(compiled(absence_rule(allowed_lateness="PT5M")))
    entity.feed(event(0, CART, sku="pro"))
    deadline = T0 + timedelta(days=1)
    # THEN the timer only fires it five minutes after the deadline
    assert entity.state.due_at == deadline + timedelta(minutes=5)
    assert entity.fire_due(deadline + timedelta(minutes=4)) == []
    # WHEN a purchase from before the deadline straggles in  THEN the deadline is cancelled
    entity.feed(event(24 * 60 - 1, PURCHASE))
    assert entity.fire_due(deadline + timedelta(minutes=10)) == []


def test_cooldown_applies_to_timer_firings() -> None:
    entity = Entity(compiled(absence_rule(cooldown="P7D")))
    entity.feed(event(0, CART, sku="a"))
    first = entity.fire_due(T0 + timedelta(days=1))
    entity.feed(event(2 * 24 * 60, CART, sku="b"))
    second = entity.fire_due(T0 + timedelta(days=4))
    assert (len(first), second) == (1, [])


def test_a_late_absence_firing_keeps_its_cooldown_when_another_rule_fired_in_between() -> None:
    # GIVEN an absence (30 min, allowed_lateness 1 h, cool-down 2 h) and another rule (issue 15, defect 2)
    spec = {"after": {"types": [CART]}, "missing": {"types": [PURCHASE]}, "within": "PT30M"}
    absence = rule("cart", absence=spec, allowed_lateness="PT1H", cooldown="PT2H")
    other = rule("visit", when={"types": ["Web/Visit"]}, cooldown="PT1M")
    entity = Entity(compiled(absence, other))
    # WHEN a cart at 0 fires at its deadline (0:30, decided at 1:30); a cart at 1:00 is due at 1:30,
    # decided at 2:30; the other rule fires at 2:35 (after the first cool-down's end, 2:30)
    entity.feed(event(0, CART))
    first = entity.fire_due(T0 + timedelta(minutes=90))
    entity.feed(event(60, CART))
    visit = entity.fired(event(155, "Web/Visit"))
    second = entity.fire_due(T0 + timedelta(minutes=155))
    # THEN the second deadline (1:30) is inside the first firing's cool-down (0:30 .. 2:30): quiet
    assert ([m.fired_at for m in first], visit, second) == ([T0 + timedelta(minutes=30)], ["visit"], [])
