"""Versions and hot reload: a running instance picks up a new rule-set version and keeps the entity
state of every stateful rule whose stateful definition did not change; changed ones start afresh."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from typing import Any

from shared.rules import RuleSetCache
from shared.store.memory import MemoryStore
from tests.unit.rule_scenarios import T0, Entity, compiled, event, rule

FAILED, CART, PURCHASE, SIGNUP = "Aad/LoginFailed", "Shop/AddToCart", "Shop/Purchase", "Shop/SignUp"
PAID = "Billing/Paid"


def version_one() -> list[dict[str, Any]]:
    return [
        rule("burst", when={"types": [FAILED]}, window={"aggregate": "count", "size": "PT1H", "op": "ge", "value": 3}),
        rule(
            "slow-burst", when={"types": [FAILED]}, window={"aggregate": "count", "size": "P1D", "op": "ge", "value": 5}
        ),
        rule("cart", absence={"after": {"types": [CART]}, "missing": {"types": [PURCHASE]}, "within": "P1D"}),
        rule(
            "life",
            when={"types": [SIGNUP, PAID]},
            machine={
                "initial": "trial",
                "states": {"trial": {}, "active": {}},
                "transitions": [{"from": "trial", "to": "active", "when": {"types": [PAID]}}],
            },
        ),
        rule(
            "retired", when={"types": [FAILED]}, window={"aggregate": "count", "size": "PT5M", "op": "ge", "value": 9}
        ),
    ]


def version_two(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    changed = copy.deepcopy(rules)
    changed[0]["window"]["value"] = 2  # burst: only the threshold changes -> state kept
    changed[0]["priority"] = 5
    changed[1]["window"]["size"] = "PT12H"  # slow-burst: what it keeps changes -> state reset
    changed[2]["absence"]["within"] = "P2D"  # cart: pending deadlines keep their time
    changed[3]["machine"]["states"]["churned"] = {}  # life: a new state; the entity stays active
    changed[3]["machine"]["transitions"].append({"from": "active", "to": "churned", "when": {"types": ["Shop/Cancel"]}})
    return changed[:4]  # retired: removed -> its state is dropped


def test_new_version_keeps_state_of_unchanged_rules_and_resets_changed_ones() -> None:
    async def scenario() -> None:
        # GIVEN an instance running version 1 from the store, and an entity with state in every rule
        store, now = MemoryStore(), [0.0]
        v1 = version_one()
        await store.rules.save_ruleset("default", v1)
        cache = RuleSetCache(store.rules, "default", check_interval_s=10, clock=lambda: now[0])
        entity = Entity(await cache.current())
        entity.feed(event(0, FAILED), event(1, FAILED), event(2, CART), event(3, SIGNUP), event(4, PAID))
        before = copy.deepcopy(entity.state.data["rules"])
        # WHEN version 2 is pushed and the instance's next check picks it up (no restart)
        await store.rules.save_ruleset("default", version_two(v1))
        now[0] = 11.0
        entity.ruleset = await cache.current()
        matches = entity.fired(event(5, FAILED))
        # THEN version 2 runs; burst kept its two failures (the third reaches its new threshold of 2)
        assert entity.ruleset.version == 2
        assert matches == ["burst"]
        rules = entity.state.data["rules"]
        assert rules["burst"]["t"] == before["burst"]["t"] + [rules["burst"]["t"][-1]]
        # AND slow-burst started afresh with the one new failure; retired is gone
        assert len(rules["slow-burst"]["t"]) == 1 and rules["slow-burst"]["fp"] != before["slow-burst"]["fp"]
        assert "retired" not in rules
        # AND the machine kept its state and the cart deadline kept its time
        assert entity.ruleset.state_value("state.life", entity.state, T0) == "active"
        assert entity.state.due_at == T0 + timedelta(days=1, minutes=2)
        assert [m.rule_id for m in entity.fire_due(T0 + timedelta(days=1, minutes=2))] == ["cart"]

    asyncio.run(scenario())


def test_a_machine_state_that_no_longer_exists_restarts_in_initial() -> None:
    life = version_one()[3]
    entity = Entity(compiled(life))
    entity.feed(event(0, SIGNUP), event(1, PAID))
    renamed = copy.deepcopy(life)
    renamed["machine"]["states"] = {"trial": {}, "paying": {}}
    renamed["machine"]["transitions"][0]["to"] = "paying"
    entity.ruleset = compiled(renamed, version=2)
    entity.feed(event(2, SIGNUP))
    assert entity.ruleset.state_value("state.life", entity.state, T0) == "trial"


def test_the_compiled_set_carries_its_version_into_matches() -> None:
    entity = Entity(compiled(version_one()[0], version=7))
    matches = entity.feed(event(0, FAILED), event(1, FAILED), event(2, FAILED))
    assert [match.rule_version for match in matches] == [7]
