"""What ``squall state show`` reads and ``reset`` forgets, on states the engine itself wrote; and why a
reset keeps the replay guards: a replayed batch still cannot fire a rule twice."""

from __future__ import annotations

import asyncio

from shared.entities import EntityAdmin
from shared.pipeline import PipelineDeps, process_batch
from shared.rules import compile_ruleset, forget_rules, read_inventory, validate_rules
from shared.store.sqlite import SqliteStore
from tests.fakes import FixedRuleSource, RecordingSender
from tests.unit.rule_scenarios import Entity, compiled, event, rule
from tests.unit.test_pipeline import RULES, raw, record

READING = "Sensor/Reading"
HIGH = {"field": "attributes.level", "op": "ge", "value": 5}


def every_kind() -> Entity:
    """One entity after events through a rule of each stateful kind, with every suppression."""
    machine = {
        "initial": "trial",
        "states": {"trial": {}, "paying": {}},
        "transitions": [{"from": "trial", "to": "paying", "when": {"types": ["Billing/Paid"]}}],
    }
    entity = Entity(
        compiled(
            rule("burst", when={"types": [READING]},
                 window={"aggregate": "count", "size": "PT1H", "op": "ge", "value": 9}),
            rule("daily", when={"types": [READING]},
                 window={"aggregate": "count", "size": "P1D", "kind": "tumbling", "op": "ge", "value": 9}),
            rule("seq", sequence={"steps": [{"types": ["A/a"]}, {"types": ["B/b"]}, {"types": ["C/c"]}],
                                  "within": "PT1H"}),
            rule("cart", absence={"after": {"types": ["Shop/Cart"]}, "missing": {"types": ["Shop/Buy"]},
                                  "within": "P1D"}),
            rule("life", when={"types": ["Billing/Paid", "Shop/Cart"]}, machine=machine),
            rule("high", when={"types": [READING]}, condition=HIGH, cooldown="PT10M",
                 max_per_period={"count": 5, "period": "P1D"}, rearm=True),
        )
    )  # fmt: skip
    entity.feed(
        event(0, READING, level=9), event(1, READING, level=9), event(2, "A/a"), event(3, "B/b"),
        event(4, "Shop/Cart", event_id="cart-1"), event(5, "Billing/Paid"),
    )  # fmt: skip
    return entity


def test_the_inventory_reads_every_kind_of_rule_memory_without_the_rules() -> None:
    # GIVEN the state the engine left after events through every kind of stateful rule
    state = every_kind().state
    # WHEN it is read without any rule definition
    inventory = read_inventory(state)
    # THEN each rule's memory is named and summarized, times as ISO 8601 Z
    rules = {memory.rule_id: memory for memory in inventory.rules}
    assert set(rules) == {"burst", "daily", "seq", "cart", "life", "high"}
    assert (rules["burst"].kind, rules["burst"].summary["events"]) == ("sliding window", 2)
    assert (rules["daily"].kind, rules["daily"].summary["events"], rules["daily"].summary["buckets"]) == (
        "tumbling window", 2, 1,
    )  # fmt: skip
    assert rules["seq"].summary == {"steps_done": 2, "started": "2024-05-01T08:02:00Z"}
    assert rules["cart"].summary == {"deadline": "2024-05-02T08:04:00Z", "armed_by_event": "cart-1"}
    assert rules["life"].summary == {"state": "paying", "since": "2024-05-01T08:05:00Z"}
    assert rules["high"].last_fired == "2024-05-01T08:00:00Z"
    assert rules["high"].firings == ("2024-05-01T08:00:00Z",)
    assert rules["high"].held is True
    assert inventory.watermark == "2024-05-01T08:05:00Z"


def test_forgetting_one_rule_leaves_the_others_and_the_clock() -> None:
    # GIVEN that state
    entity = every_kind()
    # WHEN the suppressed rule is forgotten
    forgotten = forget_rules(entity.state, ["high"])
    # THEN its cool-down, firings and re-arm mark are gone, and it fires again at once
    assert forgotten == ["high"]
    assert "high" not in {memory.rule_id for memory in read_inventory(entity.state).rules}
    assert entity.fired(event(6, READING, level=9)) == ["high"]
    # AND the other rules kept their memory (the deadline still due)
    assert entity.state.due_at is not None


def test_forgetting_every_rule_empties_it_but_for_the_clock_and_the_guards() -> None:
    entity = every_kind()
    entity.state.data["_applied"] = {"0": 12}
    forget_rules(entity.state)
    assert entity.state.data == {"wm": 1714550700000, "_applied": {"0": 12}}
    assert entity.state.due_at is None


def test_after_a_reset_a_replayed_batch_still_cannot_fire_twice(store: SqliteStore) -> None:
    # GIVEN a first Copilot use that fired the 30-day cool-down rule, then was delivered
    def deps() -> PipelineDeps:  # each call: a fresh process, no memory of recent event ids
        ruleset = compile_ruleset(validate_rules(RULES).rules, version=1)
        return PipelineDeps(rules=FixedRuleSource(ruleset), states=store.states, dedupe=store.dedupe,
                            deadletters=store.deadletters, sender=RecordingSender())  # fmt: skip

    batch = [raw(record("c1", "ann@contoso.com", "Copilot", "CopilotInteraction"), 7)]
    first = asyncio.run(process_batch(batch, deps()))
    asyncio.run(store.states.complete_outbox(asyncio.run(store.states.pending_outbox())))
    # WHEN an operator resets her rules, and the batch is then replayed from its checkpoint
    reset = asyncio.run(EntityAdmin(store.rules, store.states, store.deadletters).reset("ann@contoso.com"))
    replay = asyncio.run(process_batch(batch, deps()))
    # THEN the cool-down was forgotten, but the replayed event was recognized as applied: nothing planned
    assert first.actions_planned == 1
    assert reset.rules_reset == ("copilot-first-use",)
    assert (replay.rule_matches, replay.actions_planned) == (0, 0)
    # AND a new use (a later sequence number) fires again at once: the reset cleared the cool-down
    second_use = [raw(record("c2", "ann@contoso.com", "Copilot", "CopilotInteraction"), 8)]
    later = asyncio.run(process_batch(second_use, deps()))
    assert later.actions_planned == 1
