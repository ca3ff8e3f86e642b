"""The outbox: planned actions committed atomically with their entity's state (every adapter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.store import ConcurrencyConflict, EntityState, OutboxEntry, Store

pytestmark = [pytest.mark.anyio, pytest.mark.contract_feature("outbox")]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def entry(entity: str, key: str, *, minutes: int = 0) -> OutboxEntry:
    action = {"key": key, "kind": "journey_entry", "rule_id": "r1", "entity": entity, "data": {"plan": "E5"}}
    return OutboxEntry(entity=entity, key=key, action=action, created_at=T0 + timedelta(minutes=minutes))


async def test_outbox_entries_commit_with_their_state_and_stay_pending_until_completed(store: Store) -> None:
    # GIVEN a state saved with two planned actions
    state = EntityState(entity="user-1", data={"n": 1})
    await store.states.save_states([state], outbox=[entry("user-1", "k1"), entry("user-1", "k2", minutes=1)])
    # WHEN one is delivered and completed
    pending = await store.states.pending_outbox()
    await store.states.complete_outbox([pending[0]])
    # THEN both were pending, as written, and only the other one still is
    assert pending == [entry("user-1", "k1"), entry("user-1", "k2", minutes=1)]
    assert [e.key for e in await store.states.pending_outbox()] == ["k2"]


async def test_outbox_of_a_conflicting_entity_is_not_committed(store: Store) -> None:
    # GIVEN a stale copy of an entity's state
    await store.states.save_states([EntityState(entity="user-1", data={"n": 0})])
    stale = (await store.states.load_states(["user-1"]))["user-1"]
    await store.states.save_states([(await store.states.load_states(["user-1"]))["user-1"]])
    # WHEN it is saved with a planned action
    with pytest.raises(ConcurrencyConflict):
        await store.states.save_states([stale], outbox=[entry("user-1", "k1")])
    # THEN neither the state nor the action was committed: all or nothing
    assert await store.states.pending_outbox() == []
    assert (await store.states.load_states(["user-1"]))["user-1"].etag != stale.etag


async def test_outbox_entries_of_entities_without_state_are_committed(store: Store) -> None:
    # GIVEN an action planned by a stateless rule (no state for its entity)
    # WHEN it is saved alone
    await store.states.save_states([], outbox=[entry("device-9", "k9")])
    # THEN it is pending, and no state was invented for the entity
    assert [e.key for e in await store.states.pending_outbox()] == ["k9"]
    assert await store.states.load_states(["device-9"]) == {}


async def test_pending_outbox_is_oldest_first_across_entities_and_limited(store: Store) -> None:
    # GIVEN actions for three entities planned at different times
    entries = [
        entry("user-3", "k3", minutes=3),
        entry("user-1", "k1", minutes=1),
        entry("user-2", "k2", minutes=2),
    ]
    await store.states.save_states([], outbox=entries)
    # WHEN asking for the two oldest
    oldest = await store.states.pending_outbox(limit=2)
    # THEN they come oldest first
    assert [e.key for e in oldest] == ["k1", "k2"]


async def test_saving_an_action_key_twice_keeps_one_entry(store: Store) -> None:
    # GIVEN an action committed once (a replayed batch plans the same idempotency key again)
    await store.states.save_states([], outbox=[entry("user-1", "k1")])
    # WHEN it is committed again
    await store.states.save_states([], outbox=[entry("user-1", "k1")])
    # THEN one entry is pending
    assert [e.key for e in await store.states.pending_outbox()] == ["k1"]


async def test_completing_unknown_or_completed_entries_is_ignored(store: Store) -> None:
    # GIVEN one pending action, completed once
    await store.states.save_states([], outbox=[entry("user-1", "k1")])
    await store.states.complete_outbox([entry("user-1", "k1")])
    # WHEN it and a stranger are completed (a retried completion)
    await store.states.complete_outbox([entry("user-1", "k1"), entry("user-2", "nope")])
    # THEN nothing is pending and nothing failed
    assert await store.states.pending_outbox() == []


async def test_a_new_state_and_its_many_actions_commit_together(store: Store) -> None:
    # GIVEN more actions for one entity than a Cosmos DB transactional batch holds
    entries = [entry("user-1", f"k{i:03d}", minutes=i) for i in range(120)]
    # WHEN the state and all of them are saved
    await store.states.save_states([EntityState(entity="user-1", data={"n": 1})], outbox=entries)
    # THEN every action is pending and the state is stored
    assert len(await store.states.pending_outbox(limit=500)) == 120
    assert (await store.states.load_states(["user-1"]))["user-1"].data == {"n": 1}


async def test_many_actions_of_a_conflicting_entity_are_not_committed(store: Store) -> None:
    # GIVEN a stale copy of an entity's state and more actions than one Cosmos DB batch holds
    await store.states.save_states([EntityState(entity="user-1", data={"n": 0})])
    stale = (await store.states.load_states(["user-1"]))["user-1"]
    await store.states.save_states([(await store.states.load_states(["user-1"]))["user-1"]])
    entries = [entry("user-1", f"k{i:03d}", minutes=i) for i in range(120)]
    # WHEN they are saved together
    with pytest.raises(ConcurrencyConflict):
        await store.states.save_states([stale], outbox=entries)
    # THEN none of the actions is left pending
    assert await store.states.pending_outbox(limit=500) == []


async def test_pending_outbox_narrows_to_the_named_entities(store: Store) -> None:
    # GIVEN pending entries for three entities
    for entity in ("ann", "bob", "cat"):
        await store.states.save_states([], outbox=[OutboxEntry(entity=entity, key=f"k-{entity}", action={"n": 1})])
    # WHEN asking for two of them  THEN only theirs come back
    pending = await store.states.pending_outbox(entities=["ann", "cat"])
    assert sorted(e.key for e in pending) == ["k-ann", "k-cat"]
    assert await store.states.pending_outbox(entities=[]) == []


def batch_entry(batch: str, entity: str, key: str, *, minutes: int = 0) -> OutboxEntry:
    return OutboxEntry(
        entity=entity, key=key, action={"key": key}, created_at=T0 + timedelta(minutes=minutes), batch=batch
    )


async def test_a_replayed_batch_merges_into_its_document_and_plans_nothing_twice(store: Store) -> None:
    # GIVEN a batch's document with two entries, one of them delivered since
    await store.states.save_states([], outbox=[batch_entry("p3:100", "ann", "k1"), batch_entry("p3:100", "bob", "k2")])
    await store.states.complete_outbox([batch_entry("p3:100", "ann", "k1")])
    # WHEN the replay of the batch plans the same two keys and a new one
    replay = [
        batch_entry("p3:100", "ann", "k1"),
        batch_entry("p3:100", "bob", "k2"),
        batch_entry("p3:100", "cat", "k3"),
    ]
    await store.states.save_states([], outbox=replay)
    # THEN the delivered key stays delivered, and only the others are pending, once each
    assert sorted(e.key for e in await store.states.pending_outbox()) == ["k2", "k3"]
    assert [e.batch for e in await store.states.pending_outbox(batch="p3:100")] == ["p3:100", "p3:100"]
    assert await store.states.pending_outbox(batch="p3:999") == []


async def test_marked_entries_come_back_with_their_mark_and_count_in_the_backlog(store: Store) -> None:
    # GIVEN two pending entries of one batch, one marked in flight
    await store.states.save_states([], outbox=[batch_entry("b", "ann", "k1"), batch_entry("b", "bob", "k2", minutes=1)])
    await store.states.mark_sending([batch_entry("b", "ann", "k1")], at=T0 + timedelta(minutes=5))
    # WHEN the outbox is read  THEN the mark is there, and both count in the backlog
    pending = {e.key: e for e in await store.states.pending_outbox()}
    assert pending["k1"].sending_at == T0 + timedelta(minutes=5)
    assert pending["k1"].attempts == 1
    assert pending["k2"].sending_at is None
    assert await store.states.outbox_backlog() == (2, T0)
    # AND once both are settled the backlog is empty
    await store.states.complete_outbox(list(pending.values()))
    assert await store.states.outbox_backlog() == (0, None)


async def test_only_the_conflicting_entity_loses_its_new_entries(store: Store) -> None:
    # GIVEN a stale state for ann and a fresh one for bob, one batch planning for both
    await store.states.save_states([EntityState(entity="ann", data={"n": 0})])
    stale = (await store.states.load_states(["ann"]))["ann"]
    await store.states.save_states([(await store.states.load_states(["ann"]))["ann"]])
    bob = EntityState(entity="bob", data={"n": 1})
    # WHEN they are saved together
    with pytest.raises(ConcurrencyConflict):
        await store.states.save_states(
            [stale, bob], outbox=[batch_entry("b", "ann", "ka"), batch_entry("b", "bob", "kb")]
        )
    # THEN bob's entry and state are committed, ann's entry was taken back
    assert [e.key for e in await store.states.pending_outbox()] == ["kb"]
    assert (await store.states.load_states(["bob"]))["bob"].data == {"n": 1}
