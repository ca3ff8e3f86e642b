"""The sample rule set shipped in rules/: it validates, and it fires on real-shaped O365 records."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from shared.actions.planning import plan_actions
from shared.events import NormalizeOptions, normalize_raw_event
from shared.events.models import Event, RawEvent
from shared.rules import (
    ACTION_KINDS,
    CompiledRuleSet,
    compile_ruleset,
    load_rule_documents,
    load_rule_files,
    validate_rules,
)
from shared.store.models import EntityState

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
FIXTURES = ROOT / "tests" / "fixtures"


def sample_ruleset() -> CompiledRuleSet:
    checked = validate_rules(load_rule_files(RULES_DIR))
    assert checked.errors == []
    return compile_ruleset(checked.rules, version=1)


def fixture_events(name: str) -> list[Event]:
    events: list[Event] = []
    for line in (FIXTURES / name).read_bytes().splitlines():
        events.extend(normalize_raw_event(RawEvent(body=line), NormalizeOptions()).events)
    return events


@pytest.mark.parametrize(
    "loaded", load_rule_documents(RULES_DIR), ids=lambda loaded: f"{loaded.file.name}:{loaded.line}"
)
def test_every_sample_rule_validates_and_has_an_action(loaded) -> None:  # type: ignore[no-untyped-def]
    checked = validate_rules([loaded.raw])
    assert checked.errors == []
    (rule,) = checked.rules
    assert rule.action.kind in ACTION_KINDS
    assert rule.description


def test_sample_rule_set_is_large_enough_and_uses_distinct_journeys() -> None:
    ruleset = sample_ruleset()
    assert len(ruleset) >= 6
    # a shadow rule is a variant of a live one (it never sends): it may share that rule's journey
    live = [rule for rule in ruleset.rules if not rule.shadow]
    journeys = [rule for rule in live if rule.definition.actions()[0].kind == "journey_entry"]
    assert len(ruleset.event_definition_keys) == len(journeys)


def test_sample_rule_set_has_one_rule_of_every_kind_to_its_destination() -> None:
    # GIVEN the sample rules  WHEN their actions are listed by kind
    actions = [action for rule in sample_ruleset().rules for action in rule.definition.actions()]
    # THEN every kind appears; Marketing Cloud kinds go to sfmc, the others to a named destination
    kinds = {action.kind: action.destination for action in actions}
    assert set(kinds) == set(ACTION_KINDS)
    assert kinds["journey_entry"] == kinds["data_extension_row"] == "sfmc"
    assert (kinds["webhook"], kinds["eventbridge"]) == ("crm", "aws")


@pytest.mark.parametrize(
    ("fixture", "line", "expected"),
    [
        ("o365_microsoft_docs.jsonl", 1, []),  # one failed logon: the burst rule needs three in 30 min
        ("o365_microsoft_docs.jsonl", 2, []),  # the same logon, succeeded
        ("o365_microsoft_docs.jsonl", 6, ["copilot-first-use"]),
        ("o365_recreated.jsonl", 1, []),  # TeamCreated by "Application": not a person
        ("o365_recreated.jsonl", 2, ["teams-champion"]),
        ("o365_recreated.jsonl", 3, ["teams-first-session"]),
        ("o365_recreated.jsonl", 6, ["heavy-onedrive-uploader"]),
        ("o365_recreated.jsonl", 9, []),  # one sharing change: the spike needs two in a day
        ("o365_recreated.jsonl", 10, []),  # S-1-5-18
        ("o365_recreated.jsonl", 12, []),  # a successful UserLoggedIn
        ("o365_constructed_quirks.jsonl", 1, ["outlook-engagement"]),
        ("o365_constructed_quirks.jsonl", 3, []),  # a failed sign-in, alone
        ("o365_constructed_quirks.jsonl", 4, []),  # Copilot in 2021: before general availability
    ],
)
def test_sample_rules_fire_on_fixture_records(fixture: str, line: int, expected: list[str]) -> None:
    # GIVEN one normalized fixture record and a fresh entity state
    (evt,) = fixture_events(fixture)[line - 1 : line]
    # WHEN the sample rule set evaluates it
    fired = [match.rule_id for match in sample_ruleset().evaluate(evt, EntityState(entity=evt.entity))]
    # THEN exactly the expected journeys fire
    assert fired == expected


def test_failed_sign_in_burst_fires_once_on_the_third_failure_within_30_minutes() -> None:
    # GIVEN one user's failed sign-ins at minutes 0, 10, 20 and 25 (the fixture record, re-timed)
    (failure,) = fixture_events("o365_constructed_quirks.jsonl")[2:3]
    base = failure.time
    ruleset, state = sample_ruleset(), EntityState(entity=failure.entity)
    fired = []
    for minute in (0, 10, 20, 25):
        event = failure.model_copy(update={"id": f"fail-{minute}", "time": base + timedelta(minutes=minute)})
        fired.append([m.rule_id for m in ruleset.evaluate(event, state)])
    # THEN the window reaches three at minute 20 and the rule fires once for the burst; its shadow
    # variant (rules/failed-sign-in-shadow.yaml: two failures) would have fired at minute 10
    assert fired == [[], ["failed-sign-in-pair"], ["failed-sign-in-burst"], []]


def test_sample_matches_on_fixtures_all_plan_actions() -> None:
    ruleset = sample_ruleset()
    matches = []
    for name in ("o365_microsoft_docs.jsonl", "o365_recreated.jsonl", "o365_constructed_quirks.jsonl"):
        for evt in fixture_events(name):
            matches.extend(ruleset.evaluate(evt, EntityState(entity=evt.entity)))
    result = plan_actions(matches)
    assert len(result.actions) == len(matches) >= 5  # every stateless match on a lone record plans
    assert result.failures == []
    assert all(action.contact_key == action.entity for action in result.actions)


def test_every_sample_rule_fires_on_synthetic_o365_traffic() -> None:
    synthetic = pytest.importorskip(
        "squall.synthetic", reason="the synthetic generator is another helper's module"
    )
    # GIVEN 20k synthetic records through the real normalizer
    ruleset, states = sample_ruleset(), {}
    fired: Counter[str] = Counter()
    for record in synthetic.generate_o365_records(20_000, seed=7):
        body = json.dumps(record).encode()
        for evt in normalize_raw_event(RawEvent(body=body), NormalizeOptions()).events:
            state = states.setdefault(evt.entity, EntityState(entity=evt.entity))
            fired.update(match.rule_id for match in ruleset.evaluate(evt, state))
    # THEN every sample rule fires at least once
    assert set(fired) == {rule.id for rule in ruleset.rules}, fired
