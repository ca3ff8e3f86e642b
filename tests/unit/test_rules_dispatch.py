"""Prefix/suffix dispatch, the choice of dispatch field and the one-call leaf shortcuts change no result."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import RawEvent, normalize_raw_event
from shared.events.models import Event
from shared.rules import CompiledRuleSet, ConditionFailed, compile_rule, compile_ruleset, validate_rules
from shared.rules.conditions import shortcuts as leaf_shortcuts
from shared.rules.conditions.compiler import compile_condition
from shared.rules.conditions.shortcuts import shortcut_for
from shared.rules.definitions.conditions import FieldCondition
from squall.bench import generate_rules, sample_audience
from squall.synthetic import generate_o365_bytes

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
DOMAINS = ["@contoso.com", "@fabrikam.com", "@northwind.example", "@sub.contoso.com"]
#: Suffixes with no anchor (their first character recurs), overlapping ones, and one-character ones.
ODD_SUFFIXES = ["contoso.com", ".com", "m", "oo", "o.com"]
PREFIXES = ["https:", "http:", "ada.", "ad", "a", "x#"]


def event(entity: str = "ada@contoso.com", tenant: str | None = "t1", **attributes: Any) -> Event:
    return Event(
        id="e-1", source="o365", type="Exchange/Send", time=T0, entity=entity, tenant=tenant, attributes=attributes
    )


def ruleset(conditions: list[dict[str, Any]], priorities: list[int] | None = None) -> CompiledRuleSet:
    raw = [
        {
            "id": f"r{n:02d}",
            "priority": (priorities or [0] * len(conditions))[n],
            "when": {"types": ["Exchange/Send"]},
            "condition": condition,
            "action": {"kind": "journey_entry", "event_definition_key": "K"},
        }
        for n, condition in enumerate(conditions)
    ]
    checked = validate_rules(raw)
    assert checked.errors == []
    return compile_ruleset(checked.rules)


def reference_ids(rules: CompiledRuleSet, evt: Event) -> list[str]:
    """Every rule's type filter and whole condition, checked one by one, in priority order (no index)."""
    return [rule.id for rule in reference_rules(rules) if concerns(rule, evt) and passes(rule, evt)]


def reference_rules(rules: CompiledRuleSet) -> list[Any]:
    return sorted((compile_rule(rule.definition) for rule in rules.rules), key=lambda rule: rule.order)


def concerns(rule: Any, evt: Event) -> bool:
    return rule.source in (None, evt.source) and any(
        pattern == evt.type or (pattern.endswith("*") and evt.type.startswith(pattern[:-1]))
        for pattern in rule.type_patterns
    )


def passes(rule: Any, evt: Event) -> bool:
    try:
        return bool(rule.check(evt))
    except ConditionFailed:
        return False


def fired_ids(rules: CompiledRuleSet, evt: Event) -> list[str]:
    return [match.rule_id for match in rules.evaluate(evt, None)]


DOMAIN_RULES = [
    {"field": "entity", "op": "ends_with", "value": [DOMAINS[0], DOMAINS[3]]},
    {"field": "entity", "op": "ends_with", "value": DOMAINS[1]},
    {
        "all": [
            {"field": "entity", "op": "ends_with", "value": DOMAINS[2]},
            {"field": "tenant", "op": "eq", "value": "t1"},
        ]
    },
    {"field": "entity", "op": "ends_with", "value": DOMAINS[0]},
    {"field": "entity", "op": "ends_with", "value": ".com"},
]


def test_suffix_dispatch_makes_only_rules_of_the_events_domain_candidates() -> None:
    # GIVEN rules keyed on mail domains (and one on a generic ".com" suffix)
    rules = ruleset(DOMAIN_RULES)
    # WHEN events from several domains arrive
    # THEN only the rules whose suffix the entity ends with are candidates
    assert rules.candidate_ids(event("ada@contoso.com")) == ["r00", "r03", "r04"]
    assert rules.candidate_ids(event("ada@sub.contoso.com")) == ["r00", "r04"]
    assert rules.candidate_ids(event("bo@northwind.example")) == ["r02"]
    assert rules.candidate_ids(event("S-1-5-18")) == []
    assert fired_ids(rules, event("bo@northwind.example", tenant="t2")) == []


def test_affix_dispatch_on_an_attribute_logs_a_non_text_value_like_an_unindexed_check(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN rules testing an attribute's suffix
    rules = ruleset([{"field": "attributes.site", "op": "ends_with", "value": f"/team{n}"} for n in range(6)])
    # WHEN the attribute is a number, absent, or null
    with caplog.at_level(logging.WARNING):
        assert fired_ids(rules, event(site=42)) == []
    # THEN each rule reports its type surprise once, as without the index; absent and null say nothing
    assert sum("treated as no match" in record.getMessage() for record in caplog.records) == 6
    caplog.clear()
    assert fired_ids(rules, event()) == [] and fired_ids(rules, event(site=None)) == []
    assert caplog.records == []
    assert fired_ids(rules, event(site="https://x/sites/team3")) == ["r03"]


def test_the_selective_field_is_dispatched_before_a_coarse_one() -> None:
    # GIVEN rules keyed on both a coarse field (one of two workloads) and a selective one (a tenant)
    conditions = [
        {
            "all": [
                {"field": "attributes.workload", "op": "eq", "value": "Exchange" if n % 2 else "SharePoint"},
                {"field": "tenant", "op": "eq", "value": f"t{n}"},
            ]
        }
        for n in range(12)
    ]
    rules = ruleset(conditions)
    # WHEN an event of one tenant arrives  THEN only that tenant's rule is a candidate
    assert rules.candidate_ids(event(tenant="t3", workload="Exchange")) == ["r03"]
    assert fired_ids(rules, event(tenant="t3", workload="Exchange")) == ["r03"]
    assert fired_ids(rules, event(tenant="t3", workload="SharePoint")) == []


affix_leaves = st.one_of(
    st.builds(
        lambda values: {"field": "entity", "op": "ends_with", "value": values},
        st.lists(st.sampled_from(DOMAINS + ODD_SUFFIXES), min_size=1, max_size=3),
    ),
    st.builds(
        lambda values: {"field": "attributes.url", "op": "starts_with", "value": values},
        st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=2),
    ),
    st.builds(
        lambda value: {"field": "tenant", "op": "in", "value": [value, "t9"]}, st.sampled_from(["t1", "t2"])
    ),
)
conditions = st.one_of(
    affix_leaves,
    st.builds(lambda a, b: {"all": [a, b]}, affix_leaves, affix_leaves),
    st.builds(lambda a: {"not": a}, affix_leaves),
)
entities = st.sampled_from(
    ["ada@contoso.com", "ada@sub.contoso.com", "bo@fabrikam.com", "x#EXT#@northwind.example", "S-1-5-18", "oo", ""]
    + ["m", "a.com"]
)
urls = st.none() | st.integers() | st.sampled_from(["https://a", "http:x", "ada.lovelace", "a", "", "x#y", "ht"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_conditions=st.lists(conditions, min_size=4, max_size=16),
    priorities=st.lists(st.integers(0, 3), min_size=16, max_size=16),
    entity=entities,
    url=urls,
    tenant=st.sampled_from(["t1", "t2", None]),
)
def test_indexed_affix_rules_fire_exactly_like_checking_every_rule(
    rule_conditions: list[dict[str, Any]], priorities: list[int], entity: str, url: object, tenant: str | None
) -> None:
    # GIVEN rules keyed on prefixes, suffixes (anchored or not, overlapping) and tenants
    rules = ruleset(rule_conditions, priorities)
    evt = event(entity or "e", tenant=tenant, **({} if url is None else {"url": url}))
    # WHEN evaluated through the index  THEN the same rules fire, in the same order, as one by one
    assert fired_ids(rules, evt) == reference_ids(rules, evt)


@pytest.mark.parametrize(
    ("op", "value", "samples"),
    [
        ("in", ["a", "b", 3], ["a", "c", 3, 3.0, True, None, [1], {"k": 1}]),
        ("not_in", ["a", True], ["a", "z", True, False, 1, None, ["a"]]),
        ("starts_with", ["ab", "x"], ["abc", "x", "", "b", 5, None, ["ab"]]),
        ("ends_with", "z", ["az", "a", 5, None]),
        ("contains", "b", ["abc", "a", ["b"], ["a"], 5, None]),
        ("matches", r"^\d+$", ["123", "12a", 5, None]),
        ("ge", 10, [9, 10, 10.5, True, "11", None, "2024-01-01"]),
        ("lt", 2.5, [1, 2.5, 3, False]),
        ("eq", 3, [3, 3.0, True, "3", None]),
        ("ne", True, [True, False, 1, None]),
    ],
)
def test_leaf_shortcut_answers_exactly_like_the_checked_leaf(
    op: str, value: Any, samples: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a leaf with a shortcut, and the same leaf compiled without shortcuts as the reference
    leaf = FieldCondition(field="attributes.v", op=op, value=value)
    assert shortcut_for(op, value) is not None
    fast = compile_condition(leaf)
    monkeypatch.setattr(leaf_shortcuts, "shortcut_for", lambda op, value: None)
    checked = compile_condition(leaf)
    for sample in samples:
        evt = event(v=sample)
        # WHEN both judge the value  THEN they agree, failures included
        assert _outcome(fast, evt) == _outcome(checked, evt), sample


def _outcome(check: Any, evt: Event) -> object:
    try:
        return bool(check(evt))
    except ConditionFailed as exc:
        return ("failed", exc.field, exc.op, exc.reason)


def test_bench_rule_set_fires_exactly_like_checking_every_rule() -> None:
    # GIVEN the benchmark's generated rule set (tenant, user, domain, prefix and keyed rules) and events
    raw = generate_rules(400, seed=3, audience=sample_audience(event_seed=3, sample=1500))
    rules = compile_ruleset(validate_rules(raw).rules)
    events = [e for body in generate_o365_bytes(1500, seed=3) for e in normalize_raw_event(RawEvent(body=body)).events]
    # WHEN each event is evaluated through the index and rule by rule
    fired = [fired_ids(rules, evt) for evt in events]
    # THEN the results are identical, and the set really fires for some events
    reference = reference_rules(rules)
    assert fired == [[r.id for r in reference if concerns(r, evt) and passes(r, evt)] for evt in events]
    assert sum(1 for ids in fired if ids) > 10
