"""The benchmark's rule generator: deterministic, valid, shaped as documented, ~5% of events matching."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.events import RawEvent, normalize_raw_event
from shared.rules import compile_ruleset, validate_rules
from squall.bench import generate_rules, sample_audience
from squall.bench.rulegen import TEMPLATE_WEIGHTS
from squall.synthetic import generate_o365_bytes

SAMPLE_EVENTS = 6_000


@pytest.fixture(scope="module")
def audience():  # type: ignore[no-untyped-def]
    return sample_audience(event_seed=0)


@pytest.fixture(scope="module")
def events():  # type: ignore[no-untyped-def]
    bodies = generate_o365_bytes(SAMPLE_EVENTS, seed=0)
    return [event for body in bodies for event in normalize_raw_event(RawEvent(body=body)).events]


def test_same_seed_gives_the_same_rules_and_another_seed_differs(audience) -> None:  # type: ignore[no-untyped-def]
    # GIVEN two generations with one seed and one with another
    first = generate_rules(300, seed=0, audience=audience)
    again = generate_rules(300, seed=0, audience=audience)
    other = generate_rules(300, seed=1, audience=audience)
    # THEN the first two are identical and the third is not
    assert first == again
    assert first != other


def test_generated_rules_all_validate_and_compile(audience) -> None:  # type: ignore[no-untyped-def]
    # GIVEN 500 generated rules, a fifth of them stateful
    raw = generate_rules(500, seed=0, stateful=True, audience=audience)
    # WHEN validated and compiled
    checked = validate_rules(raw)
    ruleset = compile_ruleset(checked.rules)
    # THEN every rule is valid, ids are unique, and some carry a cool-down
    assert checked.errors == []
    assert len(ruleset) == 500
    assert 0 < sum(rule.is_stateful for rule in ruleset.rules) < 500


def test_rule_shapes_follow_the_documented_mix(audience) -> None:  # type: ignore[no-untyped-def]
    # GIVEN 2,000 generated rules
    raw = generate_rules(2000, seed=0, audience=audience)
    # THEN each template's share is near its weight and most rules are keyed on one O365 type
    shares = Counter(rule["id"].split("-")[1] for rule in raw)
    total_weight = sum(weight for _, weight in TEMPLATE_WEIGHTS)
    for template, weight in TEMPLATE_WEIGHTS:
        assert abs(shares[template] / 2000 - weight / total_weight) < 0.04, template
    one_type = [rule for rule in raw if len(rule["when"].get("types", [])) == 1]
    assert len(one_type) / len(raw) > 0.6
    assert all(2 <= len(rule["condition"]["all"]) <= 5 for rule in raw)


@pytest.mark.parametrize("count", [100, 1000])
def test_match_rate_stays_in_the_stated_band(count: int, audience, events) -> None:  # type: ignore[no-untyped-def]
    # GIVEN N generated rules and the same seeded event stream
    ruleset = compile_ruleset(validate_rules(generate_rules(count, seed=0, audience=audience)).rules)
    # WHEN every event is evaluated
    matched = sum(1 for event in events if ruleset.evaluate(event, None))
    # THEN between 2% and 10% of the events match at least one rule
    assert 0.02 <= matched / len(events) <= 0.10
