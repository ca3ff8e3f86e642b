"""Evaluating a compiled rule set: condition trees, the candidate index, priority and stop_after_match."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events.models import Event
from shared.rules import InvalidRuleSet, compile_ruleset, validate_rules

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def event(
    event_type: str = "MicrosoftTeams/TeamsSessionStarted",
    *,
    source: str = "o365",
    entity: str = "ada@contoso.com",
    event_id: str = "evt-1",
    **attributes: Any,
) -> Event:
    return Event(
        id=event_id,
        source=source,
        type=event_type,
        time=T0,
        entity=entity,
        tenant="tenant-1",  # type: ignore[arg-type]
        attributes=attributes,
    )


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "action": {"kind": "journey_entry", "event_definition_key": f"APIEvent-{rule_id}"},
        **fields,
    }


def ruleset(*raw: dict[str, Any], version: int = 1):  # type: ignore[no-untyped-def]
    checked = validate_rules(list(raw))
    assert checked.errors == [], checked.errors
    return compile_ruleset(checked.rules, version=version)


def fired(rules: Any, evt: Event) -> list[str]:
    return [match.rule_id for match in rules.evaluate(evt, None)]


_NO_VALUE = object()


def attribute(name: str, op: str, value: Any = _NO_VALUE) -> dict[str, Any]:
    """A leaf condition on ``attributes.<name>``; ``value`` is left out when not given (as for ``exists``)."""
    leaf: dict[str, Any] = {"field": f"attributes.{name}", "op": op}
    if value is not _NO_VALUE:
        leaf["value"] = value
    return leaf


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"all": [attribute("a", "eq", 1), attribute("b", "eq", 2)]}, True),
        ({"all": [attribute("a", "eq", 1), attribute("b", "eq", 3)]}, False),
        ({"any": [attribute("a", "eq", 9), attribute("b", "eq", 2)]}, True),
        ({"any": [attribute("a", "eq", 9), attribute("b", "eq", 9)]}, False),
        ({"not": attribute("a", "eq", 1)}, False),
        ({"not": attribute("a", "eq", 9)}, True),
        (
            {
                "all": [
                    {"any": [attribute("a", "gt", 5), {"not": attribute("b", "exists")}]},
                    attribute("c", "exists", False),
                ]
            },
            False,
        ),
        (
            {
                "all": [
                    {"any": [attribute("a", "lt", 5), attribute("b", "gt", 5)]},
                    {"not": attribute("c", "exists")},
                ]
            },
            True,
        ),
        ({"all": [attribute("a", "eq", 1), attribute("b", "eq", 2), attribute("a", "lt", 2)]}, True),
        ({"any": [attribute("a", "eq", 0), attribute("b", "eq", 0), attribute("b", "eq", 2)]}, True),
    ],
)
def test_condition_tree_combines_leaves_with_all_any_not(condition: dict[str, Any], expected: bool) -> None:
    # GIVEN an event with a=1, b=2 and no c  WHEN a rule with the tree is evaluated
    rules = ruleset(rule("r", condition=condition))
    # THEN it fires exactly when the boolean tree is true
    assert (fired(rules, event(a=1, b=2)) == ["r"]) is expected


def test_a_rule_for_another_type_is_never_evaluated(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a rule for Exchange/Send whose condition cannot evaluate on these events (it would log)
    rules = ruleset(
        rule(
            "mail",
            when={"types": ["Exchange/Send"]},
            condition={"field": "attributes.n", "op": "lt", "value": 3},
        )
    )
    with caplog.at_level(logging.WARNING, logger="shared.rules"):
        # WHEN a Teams event arrives THEN the rule is not even a candidate: nothing is evaluated or logged
        assert rules.candidate_ids(event(n="text")) == []
        assert fired(rules, event(n="text")) == []
        assert caplog.records == []
        # AND (control) an Exchange/Send event does evaluate it, and the type surprise is logged
        assert fired(rules, event("Exchange/Send", n="text")) == []
    assert len(caplog.records) == 1


def test_types_select_by_exact_type_prefix_and_absence() -> None:
    # GIVEN rules keyed by exact type, by prefix, by "*", and with no types at all
    rules = ruleset(
        rule("exact", when={"types": ["MicrosoftTeams/TeamsSessionStarted"]}),
        rule("prefix", when={"types": ["MicrosoftTeams/*"]}),
        rule("star", when={"types": ["*"]}),
        rule("all-types"),
        rule("other", when={"types": ["Exchange/Send", "SharePoint/*"]}),
    )
    # WHEN / THEN each event gets only the rules that can match it
    assert sorted(rules.candidate_ids(event())) == ["all-types", "exact", "prefix", "star"]
    assert sorted(rules.candidate_ids(event("MicrosoftTeams/TeamCreated"))) == ["all-types", "prefix", "star"]
    assert sorted(rules.candidate_ids(event("SharePoint/SharingSet"))) == ["all-types", "other", "star"]
    assert sorted(rules.candidate_ids(event("Exchange/Create"))) == ["all-types", "star"]


def test_source_restricts_candidates() -> None:
    rules = ruleset(
        rule("o365-only", when={"source": "o365"}), rule("ce-only", when={"source": "cloudevents"})
    )
    assert rules.candidate_ids(event()) == ["o365-only"]
    assert rules.candidate_ids(event(source="cloudevents")) == ["ce-only"]


def test_a_rule_listing_overlapping_patterns_is_a_candidate_once() -> None:
    rules = ruleset(rule("twice", when={"types": ["MicrosoftTeams/*", "MicrosoftTeams/TeamsSessionStarted"]}))
    assert fired(rules, event()) == ["twice"]


def test_matches_come_in_priority_order_with_ties_broken_by_id() -> None:
    # GIVEN rules of mixed priorities, two of them tied
    rules = ruleset(
        rule("low", priority=1),
        rule("b-tie", priority=50),
        rule("high", priority=100),
        rule("a-tie", priority=50),
    )
    # WHEN evaluated THEN higher priority first, ties alphabetical, every time
    assert fired(rules, event()) == ["high", "a-tie", "b-tie", "low"]


def test_stop_after_match_skips_lower_priority_rules() -> None:
    # GIVEN a first-match rule in the middle of the order
    rules = ruleset(
        rule("first", priority=30),
        rule(
            "stopper",
            priority=20,
            stop_after_match=True,
            condition={"field": "attributes.vip", "op": "eq", "value": True},
        ),
        rule("last", priority=10),
    )
    # WHEN it matches THEN lower rules are not evaluated; WHEN it does not THEN they are
    assert fired(rules, event(vip=True)) == ["first", "stopper"]
    assert fired(rules, event(vip=False)) == ["first", "last"]


def test_disabled_rules_are_not_compiled() -> None:
    rules = ruleset(rule("on"), rule("off", enabled=False))
    assert fired(rules, event()) == ["on"]
    assert rules.event_definition_keys == frozenset({"APIEvent-on"})


def test_match_carries_rule_version_event_action_and_entity() -> None:
    rules = ruleset(rule("r"), version=7)
    (match,) = rules.evaluate(event(), None)
    assert (match.rule_id, match.rule_version, match.entity, match.event.id) == (
        "r",
        7,
        "ada@contoso.com",
        "evt-1",
    )
    assert match.action.event_definition_key == "APIEvent-r"


def test_duplicate_ids_cannot_be_compiled_together() -> None:
    (definition,) = validate_rules([rule("same")]).rules
    with pytest.raises(InvalidRuleSet, match="same"):
        compile_ruleset([definition, definition])


def test_event_definition_keys_lists_every_journey_used() -> None:
    rules = ruleset(
        rule("a"),
        rule("b"),
        rule("c", action={"kind": "journey_entry", "event_definition_key": "APIEvent-a"}),
    )
    assert rules.event_definition_keys == frozenset({"APIEvent-a", "APIEvent-b"})
