"""The index dispatches a type's rules on an equality field, without changing any result."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.events.models import Event
from shared.rules import CompiledRuleSet, ConditionFailed, compile_rule, compile_ruleset, validate_rules

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def event(**attributes: Any) -> Event:
    return Event(
        id="evt-1",
        source="o365",
        type="Exchange/Send",
        time=T0,
        entity="ada@contoso.com",
        tenant="t1",
        attributes=attributes,
    )


def compiled(raw: list[dict[str, Any]]) -> CompiledRuleSet:
    checked = validate_rules(raw)
    assert checked.errors == []
    return compile_ruleset(checked.rules)


def tenant_rule(rule_id: str, condition: dict[str, Any] | None, priority: int = 0) -> dict[str, Any]:
    return {
        "id": rule_id,
        "priority": priority,
        "when": {"types": ["Exchange/*"]},
        "condition": condition,
        "action": {"kind": "journey_entry", "event_definition_key": "K"},
    }


RULES = [
    tenant_rule(
        "acme-big",
        {
            "all": [
                {"field": "attributes.org", "op": "eq", "value": "acme"},
                {"field": "attributes.size", "op": "gt", "value": 10},
            ]
        },
        priority=5,
    ),
    tenant_rule("acme-any", {"field": "attributes.org", "op": "eq", "value": "acme"}),
    tenant_rule("globex-or-initech", {"field": "attributes.org", "op": "in", "value": ["globex", "initech"]}),
    tenant_rule("by-size", {"field": "attributes.size", "op": "gt", "value": 100}, priority=9),
    tenant_rule("unconditional", None, priority=1),
    tenant_rule("not-acme", {"not": {"field": "attributes.org", "op": "eq", "value": "acme"}}),
    tenant_rule("globex-only", {"field": "attributes.org", "op": "eq", "value": "globex"}, priority=2),
]
STATUS_RULES = [
    tenant_rule("failed-a", {"field": "attributes.status", "op": "eq", "value": "failed"}, priority=3),
    tenant_rule(
        "failed-big",
        {
            "all": [
                {"field": "attributes.size", "op": "ge", "value": 50},
                {"field": "attributes.status", "op": "eq", "value": "failed"},
            ]
        },
    ),
    tenant_rule(
        "not-ok", {"field": "attributes.status", "op": "in", "value": ["failed", "partial"]}, priority=4
    ),
    tenant_rule("ok", {"field": "attributes.status", "op": "eq", "value": "succeeded"}),
]


def test_dispatch_selects_only_rules_keyed_on_the_events_value() -> None:
    # GIVEN several rules testing attributes.org for equality, and some that do not
    rules = compiled(RULES)
    # WHEN events for different orgs arrive
    # THEN the keyed rules of other orgs are not candidates; unkeyed rules always are, in priority order
    assert rules.candidate_ids(event(org="acme")) == [
        "by-size",
        "acme-big",
        "unconditional",
        "acme-any",
        "not-acme",
    ]
    assert rules.candidate_ids(event(org="initech")) == [
        "by-size",
        "unconditional",
        "globex-or-initech",
        "not-acme",
    ]
    assert rules.candidate_ids(event(org="umbrella")) == ["by-size", "unconditional", "not-acme"]
    assert rules.candidate_ids(event(org=42)) == ["by-size", "unconditional", "not-acme"]
    assert rules.candidate_ids(event()) == ["by-size", "unconditional", "not-acme"]


def test_dispatched_rules_still_check_the_rest_of_their_condition() -> None:
    rules = compiled(RULES)
    fired = [match.rule_id for match in rules.evaluate(event(org="acme", size=3), None)]
    assert fired == ["unconditional", "acme-any"]
    fired = [match.rule_id for match in rules.evaluate(event(org="acme", size=500), None)]
    assert fired == ["by-size", "acme-big", "unconditional", "acme-any"]


def test_rules_keyed_on_two_fields_are_both_dispatched_and_merged_in_priority_order() -> None:
    # GIVEN rules keyed on attributes.org and others keyed on attributes.status
    rules = compiled(RULES + STATUS_RULES)
    # WHEN an event hits both keys, one key, or none
    # THEN the candidates are the union of the hit keys plus the unkeyed rules, in priority order
    assert rules.candidate_ids(event(org="globex", status="failed")) == [
        "by-size",
        "not-ok",
        "failed-a",
        "globex-only",
        "unconditional",
        "failed-big",
        "globex-or-initech",
        "not-acme",
    ]
    assert rules.candidate_ids(event(status="succeeded")) == ["by-size", "unconditional", "not-acme", "ok"]
    assert rules.candidate_ids(event(org="umbrella", status="unknown")) == [
        "by-size",
        "unconditional",
        "not-acme",
    ]


def passes(check: Callable[[Event], bool], evt: Event) -> bool:
    try:
        return check(evt)
    except ConditionFailed:  # evaluate() treats a failing condition as no match
        return False


def test_dispatch_gives_the_same_matches_as_checking_every_rule() -> None:
    # GIVEN the indexed rule set and, as a reference, every rule's whole condition on its own
    rules = compiled(RULES + STATUS_RULES)
    reference = [compile_rule(definition) for definition in validate_rules(RULES + STATUS_RULES).rules]
    reference.sort(key=lambda rule: rule.order)
    for attributes in (
        {"org": "globex", "status": "failed", "size": 60},
        {"status": "partial"},
        {"org": "acme", "status": "succeeded", "size": 200},
        {"org": "acme", "status": ["failed"]},
        {"org": "acme", "size": 11},
        {"org": "acme"},
        {"org": "globex", "size": 101},
        {"org": "initech", "size": 5},
        {"org": ["acme"]},
        {"size": 1000},
        {},
    ):
        evt = event(**attributes)
        # WHEN both evaluate THEN they agree, order included
        expected = [rule.id for rule in reference if passes(rule.check, evt)]
        assert [match.rule_id for match in rules.evaluate(evt, None)] == expected, attributes
