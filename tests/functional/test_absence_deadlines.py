"""Absence fires on time alone, through a real store: an event arms a deadline, the state is saved
with ``due_at``, and a timer tick later finds the entity (``due_entities``), fires the deadline
(``fire_due``) and commits the planned action to the outbox with the state — no event needed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest

from shared.actions.planning import plan_actions
from shared.events.models import Event
from shared.rules import CompiledRuleSet
from shared.store import EntityState, OutboxEntry, Store
from shared.store.memory import MemoryStore
from shared.store.optimistic import commit_entity_updates
from shared.store.sqlite import SqliteStore
from tests.unit.rule_scenarios import ACTION, T0, compiled, event, rule

CART, PURCHASE = "Shop/AddToCart", "Shop/Purchase"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "squall.db")  # type: ignore[assignment]
    yield opened
    asyncio.run(opened.close())


def abandoned_cart() -> CompiledRuleSet:
    spec = {"after": {"types": [CART]}, "missing": {"types": [PURCHASE]}, "within": "P1D"}
    return compiled({**rule("abandoned-cart", absence=spec), "action": {**ACTION, "data": {"Sku": "{attributes.sku}"}}})


async def evaluate_batch(store: Store, ruleset: CompiledRuleSet, *events: Event) -> None:
    """What the pipeline does for a batch: state of the entities that need it, evaluated, saved."""
    items = [item for item in events if ruleset.needs_state(item)]
    loaded = await store.states.load_states({item.entity for item in items})
    for item in items:
        ruleset.evaluate(item, loaded.setdefault(item.entity, EntityState(entity=item.entity)))
    await store.states.save_states(list(loaded.values()))


async def timer_tick(store: Store, ruleset: CompiledRuleSet, now_minutes: float) -> list[OutboxEntry]:
    """What the timer does: due entities, their deadlines fired, actions committed with the state."""
    now = T0 + timedelta(minutes=now_minutes)
    due = await store.states.due_entities(now)

    def fire(state: EntityState) -> list[OutboxEntry]:
        planned = plan_actions(ruleset.fire_due(state, now)).actions
        return [OutboxEntry(entity=state.entity, key=a.key, action=asdict(a)) for a in planned]

    await commit_entity_updates(store.states, due, fire)
    return await store.states.pending_outbox(entities=due)


def test_deadline_fires_from_the_store_on_time_alone(store: Store) -> None:
    async def scenario() -> None:
        ruleset = abandoned_cart()
        # GIVEN two carts, one of which is bought within the day
        await evaluate_batch(
            store, ruleset, event(0, CART, entity="ada", sku="pro"), event(5, CART, entity="bob", sku="x")
        )
        await evaluate_batch(store, ruleset, event(60, PURCHASE, entity="bob"))
        # WHEN the timer ticks before the deadline, at it, and again later
        early = await timer_tick(store, ruleset, 24 * 60 - 1)
        on_time = await timer_tick(store, ruleset, 24 * 60)
        again = await store.states.due_entities(T0 + timedelta(days=3))
        # THEN only ada's cart fires, once, with the cart's data, and nothing stays due
        assert early == []
        assert [(entry.entity, entry.action["data"]) for entry in on_time] == [("ada", {"Sku": "pro"})]
        assert again == []

    asyncio.run(scenario())


def test_the_timer_fires_every_due_deadline_in_one_run_not_a_page_a_minute(store: Store) -> None:
    # GIVEN 1,200 carts abandoned by different users (more than two pages of due entities)
    from shared.pipeline import PipelineDeps, fire_due_deadlines
    from tests.fakes import FixedRuleSource, RecordingSender

    ruleset = abandoned_cart()
    carts = [event(0, CART, entity=f"user{i}", event_id=f"cart-{i}", sku="S1") for i in range(1200)]
    asyncio.run(evaluate_batch(store, ruleset, *carts))
    deps = PipelineDeps(
        rules=FixedRuleSource(ruleset), states=store.states, dedupe=store.dedupe,
        deadletters=store.deadletters, sender=RecordingSender(),
    )  # fmt: skip
    # WHEN one timer run looks a day and a minute later, pages of 500 within its time budget
    report = asyncio.run(fire_due_deadlines(deps, now=T0 + timedelta(days=1, minutes=1), limit=500, budget_s=60))
    # THEN every deadline fired in that one run, each with its action in the outbox, and none is left
    assert report.rule_matches == report.actions_planned == 1200
    assert len(asyncio.run(store.states.pending_outbox(limit=5000))) == 1200
    assert asyncio.run(store.states.due_entities(T0 + timedelta(days=2))) == []
