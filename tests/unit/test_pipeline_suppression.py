"""The suppression list in the pipeline: a suppressed entity's events are counted and go no further
(no state read or written, nothing planned), its deadlines plan nothing, and the list is cached with
the rule set: read once per version, never per event or batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from shared.log_fields import entity_hash
from shared.pipeline import PipelineDeps, fire_due_deadlines, process_batch
from shared.rules import RuleSetCache, compile_ruleset, validate_rules
from shared.store import EntityState
from shared.store.memory import MemoryStore
from shared.store.sqlite import SqliteStore
from tests.fakes import FixedRuleSource, RecordingSender, counting_store_calls
from tests.unit.rule_scenarios import T0, compiled, event, rule
from tests.unit.test_pipeline import RULES, raw, record

CART, PURCHASE = "Shop/AddToCart", "Shop/Purchase"


def deps_with(store: SqliteStore, rules: Any, *, suppressed: Iterable[str] = ()) -> PipelineDeps:
    ruleset = rules if not isinstance(rules, list) else compile_ruleset(validate_rules(rules).rules, version=1)
    ruleset.suppressed = frozenset(entity_hash(key) for key in suppressed)
    return PipelineDeps(
        rules=FixedRuleSource(ruleset), states=store.states, dedupe=store.dedupe,
        deadletters=store.deadletters, sender=RecordingSender(),
    )  # fmt: skip


def test_events_of_a_suppressed_entity_are_counted_and_never_reach_the_rules(store: SqliteStore) -> None:
    # GIVEN a stateful rule (cool-down) and a stateless one, and ann on the suppression list
    deps = deps_with(store, RULES, suppressed={"ann@contoso.com"})
    batch = [
        raw(record("a1", "ann@contoso.com", "Copilot", "CopilotInteraction"), 0),
        raw(record("a2", "ann@contoso.com", "MicrosoftTeams", "TeamsSessionStarted"), 1),
        raw(record("b1", "bob@contoso.com", "Copilot", "CopilotInteraction"), 2),
    ]
    # WHEN the batch is processed
    report = asyncio.run(process_batch(batch, deps))
    # THEN ann's two events are counted suppressed; only bob's is evaluated, stored and planned
    assert (report.events_normalized, report.events_suppressed) == (3, 2)
    assert report.matches_by_rule == {"copilot-first-use": 1}
    assert set(asyncio.run(store.states.load_states(["ann@contoso.com", "bob@contoso.com"]))) == {"bob@contoso.com"}
    pending = asyncio.run(store.states.pending_outbox())
    assert [entry.entity for entry in pending] == ["bob@contoso.com"]
    assert report.invariant_problems() == []


def test_a_suppressed_entity_costs_no_store_request(store: SqliteStore) -> None:
    # GIVEN a store that counts every call of its ports, and the only active user suppressed
    calls: list[str] = []
    deps = deps_with(store, RULES, suppressed={"ann@contoso.com"})
    counted = counting_store_calls(deps, calls)
    # WHEN a batch of her events that a stateful rule would take is processed
    batch = [raw(record(f"c{i}", "ann@contoso.com", "Copilot", "CopilotInteraction"), i) for i in range(50)]
    report = asyncio.run(process_batch(batch, counted))
    # THEN the suppression check was a set lookup: no state read, no write
    assert report.events_suppressed == 50
    assert calls == []


def test_deadlines_of_a_suppressed_entity_plan_nothing_and_move_on(store: SqliteStore) -> None:
    # GIVEN two abandoned carts armed before ada was suppressed
    spec = {"after": {"types": [CART]}, "missing": {"types": [PURCHASE]}, "within": "PT1H"}
    ruleset = compiled(rule("abandoned-cart", absence=spec))
    states = [EntityState(entity="ada"), EntityState(entity="bob")]
    for state in states:
        ruleset.evaluate(event(0, CART, entity=state.entity), state)
    asyncio.run(store.states.save_states(states))
    deps = deps_with(store, ruleset, suppressed={"ada"})
    # WHEN the timer fires the due deadlines
    report = asyncio.run(fire_due_deadlines(deps, now=T0 + timedelta(hours=2)))
    # THEN bob's cart plans its action; ada's firing is counted and dropped, and nothing of hers stays due
    assert (report.rule_matches, report.deadlines_suppressed) == (1, 1)
    assert [entry.entity for entry in asyncio.run(store.states.pending_outbox())] == ["bob"]
    assert asyncio.run(store.states.due_entities(T0 + timedelta(days=1))) == []


class CountingRules:
    """The rules port of a memory store, counting the calls by name."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


def test_the_cache_reads_the_list_once_per_version_and_applies_a_change_at_the_next_check() -> None:
    async def scenario() -> None:
        # GIVEN an instance whose cache checks versions every 10 s, on a store with rules
        store, now = MemoryStore(), [0.0]
        await store.rules.save_ruleset("default", RULES)
        rules = CountingRules(store.rules)
        cache = RuleSetCache(rules, "default", check_interval_s=10, clock=lambda: now[0])  # type: ignore[arg-type]
        assert (await cache.current()).suppressed == frozenset()
        # WHEN ann is suppressed, and the instance asks again before and after its next check
        await store.rules.suppress([entity_hash("ann@contoso.com")])
        before = (await cache.current()).suppressed
        now[0] = 11.0
        after = (await cache.current()).suppressed
        for _ in range(100):  # batches within the interval
            await cache.current()
        # THEN the change is in force from the next check, read once; the rule set was not recompiled
        assert before == frozenset()
        assert after == {entity_hash("ann@contoso.com")}
        assert rules.calls.count("load_suppression") == 1
        assert rules.calls.count("load_ruleset") == 1
        # AND removing her lifts it at the check after that
        await store.rules.unsuppress([entity_hash("ann@contoso.com")])
        now[0] = 22.0
        assert (await cache.current()).suppressed == frozenset()

    asyncio.run(scenario())
