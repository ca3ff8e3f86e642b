"""The entity tools on every adapter: show, reset and delete one entity's state; suppressing an
entity discards its undelivered actions (``shared.entities`` over the store ports)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.entities import EntityAdmin, EntityRequestInvalid, SuppressionAdmin
from shared.log_fields import entity_hash
from shared.store import DeadLetter, EntityState, OutboxEntry, Store

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
ANN = "ann@contoso.com"
MS = 1714550400000  # T0 in ms


def ann_state(entity: str = ANN) -> EntityState:
    """State a run leaves: a sliding window, an armed absence deadline, a cool-down, and the guards."""
    return EntityState(
        entity=entity,
        data={
            "rules": {
                "burst": {"fp": "a1", "t": [MS - 60_000, MS]},
                "cart": {"fp": "b2", "due": MS + 3_600_000, "a": {"id": "e-7", "type": "Shop/AddToCart"}},
            },
            "cooldowns": {"welcome": "2024-05-01T07:00:00Z"},
            "wm": MS,
            "_applied": {"0": 41},
            "_recent": ["a1b2c3d4e5f6"],
        },
        due_at=T0.replace(hour=9),
    )


def entry(entity: str, key: str) -> OutboxEntry:
    action = {"key": key, "kind": "journey_entry", "rule_id": "welcome", "entity": entity, "contact_key": entity}
    return OutboxEntry(entity=entity, key=key, action=action, created_at=T0, batch="0:41")


async def test_show_reads_the_stored_state_rule_by_rule(store: Store) -> None:
    # GIVEN ann's state, one of her actions pending, and her suppression
    await store.states.save_states([ann_state()], outbox=[entry(ANN, "k1")])
    await store.rules.suppress([entity_hash(ANN)])
    # WHEN it is shown
    view = await EntityAdmin(store.rules, store.states, store.deadletters).show(ANN)
    # THEN every rule's memory, the clock, the guards, the pending action and the suppression show
    shown = view.to_json()
    assert (shown["found"], shown["suppressed"], shown["pending_actions"]) == (True, True, 1)
    assert shown["entity_hash"] == entity_hash(ANN)
    assert shown["due_at"] == "2024-05-01T09:00:00Z"
    assert shown["watermark"] == "2024-05-01T08:00:00Z"
    assert (shown["applied"], shown["recent_event_ids"]) == ({"0": 41}, 1)
    rules = {rule["rule_id"]: rule for rule in shown["rules"]}
    assert rules["burst"]["kind"] == "sliding window"
    window = {"events": 2, "oldest": "2024-05-01T07:59:00Z", "newest": "2024-05-01T08:00:00Z"}
    assert rules["burst"]["summary"] == window
    assert rules["cart"]["summary"] == {"deadline": "2024-05-01T09:00:00Z", "armed_by_event": "e-7"}
    assert (rules["welcome"]["kind"], rules["welcome"]["last_fired"]) == (None, "2024-05-01T07:00:00Z")
    assert shown["data"] == ann_state().data


async def test_show_of_an_unknown_entity_says_nothing_is_stored(store: Store) -> None:
    view = await EntityAdmin(store.rules, store.states, store.deadletters).show("nobody@contoso.com")
    assert (view.found, view.suppressed, view.pending_actions, view.inventory.rules) == (False, False, 0, ())


async def test_resetting_one_rule_keeps_the_others_the_clock_and_the_replay_guards(store: Store) -> None:
    # GIVEN ann's state
    await store.states.save_states([ann_state()])
    # WHEN the absence rule is reset
    outcome = await EntityAdmin(store.rules, store.states, store.deadletters).reset(ANN, rule="cart")
    # THEN only its slot is gone; the deadline time stays until the timer's next look corrects it
    stored = (await store.states.load_states([ANN]))[ANN]
    assert (outcome.found, outcome.rules_reset) == (True, ("cart",))
    assert set(stored.data["rules"]) == {"burst"}
    assert stored.data["cooldowns"] == {"welcome": "2024-05-01T07:00:00Z"}
    assert (stored.data["_applied"], stored.data["_recent"], stored.data["wm"]) == ({"0": 41}, ["a1b2c3d4e5f6"], MS)


async def test_resetting_every_rule_clears_the_deadline_and_keeps_the_guards(store: Store) -> None:
    # GIVEN ann's state, which is due
    await store.states.save_states([ann_state()])
    # WHEN all her rules are reset
    outcome = await EntityAdmin(store.rules, store.states, store.deadletters).reset(ANN)
    # THEN nothing of any rule is left, she is no longer due, and the guards and clock are kept
    stored = (await store.states.load_states([ANN]))[ANN]
    assert outcome.rules_reset == ("burst", "cart", "welcome")
    assert stored.data == {"wm": MS, "_applied": {"0": 41}, "_recent": ["a1b2c3d4e5f6"]}
    assert stored.due_at is None
    assert await store.states.due_entities(T0.replace(hour=23)) == []


async def test_resetting_an_entity_without_state_writes_nothing(store: Store) -> None:
    outcome = await EntityAdmin(store.rules, store.states, store.deadletters).reset("nobody@contoso.com")
    assert (outcome.found, outcome.rules_reset) == (False, ())
    assert await store.states.load_states(["nobody@contoso.com"]) == {}


async def test_deleting_an_entity_removes_its_state_and_discards_its_unsent_actions(store: Store) -> None:
    # GIVEN ann and bob, each with state and a pending action in the same batch
    await store.states.save_states([ann_state(), ann_state("bob")], outbox=[entry(ANN, "k1"), entry("bob", "k2")])
    # WHEN ann is deleted
    outcome = await EntityAdmin(store.rules, store.states, store.deadletters).delete(ANN)
    # THEN her state is gone and her action settled unsent; bob keeps both
    assert (outcome.state_deleted, outcome.actions_discarded) == (True, 1)
    assert set(await store.states.load_states([ANN, "bob"])) == {"bob"}
    assert [e.entity for e in await store.states.pending_outbox()] == ["bob"]
    # AND a replay of the batch cannot plan her action again: its key stays settled
    await store.states.save_states([], outbox=[entry(ANN, "k1")])
    assert [e.entity for e in await store.states.pending_outbox()] == ["bob"]


def letters_naming_ann() -> list[DeadLetter]:
    """What a store may hold about ann in dead letters: letters the pipeline wrote for her events and
    actions, and records the normalizer refused that name her (no entity recorded: JSON, JSON Lines
    with the key escaped, bytes that are not JSON)."""
    event = {"id": "e-1", "entity": ANN, "type": "Copilot/CopilotInteraction", "data": {}}
    return [
        DeadLetter(kind="event", reason="rule evaluation failed: KeyError", payload=json.dumps(event).encode(),
                   entity=ANN),
        DeadLetter(kind="action", reason="permanent: 400", payload=b'{"key": "k1"}', action_key="k1", entity=ANN),
        DeadLetter(kind="event", reason="o365: CreationTime is not a time",
                   payload=json.dumps({"UserId": ANN, "CreationTime": "soon"}).encode()),
        DeadLetter(kind="event", reason="not JSON", payload=b'{"x": 1}\n{"who": "ann\\u0040contoso.com"}\n'),
        DeadLetter(kind="event", reason="not JSON", payload=b"\xff\x00 user=ann@contoso.com;"),
    ]


def letters_of_others() -> list[DeadLetter]:
    """Letters that are not ann's: bob's event that mentions her, a longer address, bytes without her."""
    mention = {"id": "e-2", "entity": "bob", "data": {"referrer": ANN}}
    return [
        DeadLetter(kind="event", reason="rule evaluation failed: KeyError", payload=json.dumps(mention).encode(),
                   entity="bob"),
        DeadLetter(kind="event", reason="o365: no Id", payload=json.dumps({"UserId": "jo" + ANN}).encode()),
        DeadLetter(kind="event", reason="not JSON", payload=b"\xff\x00 user=joann@contoso.com;"),
    ]


@pytest.mark.contract_feature("deadletters-by-entity")
async def test_deleting_an_entity_removes_every_dead_letter_holding_its_data_and_no_other(store: Store) -> None:
    # GIVEN ann's dead letters (recorded as hers, or refused records naming her) among others'
    await store.deadletters.write([*letters_naming_ann(), *letters_of_others()])
    # WHEN ann is deleted
    outcome = await EntityAdmin(store.rules, store.states, store.deadletters).delete(ANN)
    # THEN her five letters are gone and the others' three stay; a second delete finds nothing
    assert (outcome.state_deleted, outcome.dead_letters_deleted) == (False, 5)
    assert outcome.to_json()["dead_letters_deleted"] == 5
    left = await store.deadletters.list(limit=100)
    assert sorted(letter.payload for letter in left) == sorted(letter.payload for letter in letters_of_others())
    assert [letter.entity for letter in left if letter.entity] == ["bob"]
    assert (await EntityAdmin(store.rules, store.states, store.deadletters).delete(ANN)).dead_letters_deleted == 0


async def test_suppressing_an_entity_by_key_discards_its_unsent_actions(store: Store) -> None:
    # GIVEN a pending action for ann
    await store.states.save_states([], outbox=[entry(ANN, "k1"), entry("bob", "k2")])
    suppression = SuppressionAdmin(store.rules, store.states)
    # WHEN she is suppressed (twice), and bob by his hash
    first = await suppression.add([ANN])
    again = await suppression.add([ANN], hashes=[entity_hash("bob").upper()])
    # THEN her action is discarded once; the list holds hashes only; bob's action stays
    assert (first.changed, first.actions_discarded) == ((entity_hash(ANN),), 1)
    assert (again.changed, again.actions_discarded) == ((entity_hash("bob"),), 0)
    assert (await suppression.listed()).hashes == {entity_hash(ANN), entity_hash("bob")}
    assert [e.entity for e in await store.states.pending_outbox()] == ["bob"]
    # AND removing her lifts only hers
    removed = await suppression.remove([ANN, "never-listed"])
    assert removed.changed == (entity_hash(ANN),)
    assert await suppression.contains("bob") and not await suppression.contains(ANN)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 1025])
async def test_an_unusable_entity_key_is_refused_with_what_to_fix(store: Store, bad: str) -> None:
    with pytest.raises(EntityRequestInvalid, match="entity key"):
        await EntityAdmin(store.rules, store.states, store.deadletters).show(bad)


async def test_an_unusable_hash_is_refused(store: Store) -> None:
    with pytest.raises(EntityRequestInvalid, match="not an entity hash"):
        await SuppressionAdmin(store.rules, store.states).add(hashes=["ann@contoso.com"])
