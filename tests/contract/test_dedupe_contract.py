"""Remembered keys: seen within their TTL, forgotten after (every adapter)."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.store import Store

pytestmark = pytest.mark.anyio

EXPIRY_DEADLINE_S = 10.0


async def test_remembered_keys_are_seen_and_others_are_not(store: Store) -> None:
    # GIVEN two remembered keys
    await store.dedupe.remember(["event:a", "event:b"], ttl_s=3600)
    # WHEN asking about them and a stranger
    seen = await store.dedupe.seen(["event:a", "event:b", "event:c"])
    # THEN exactly the remembered ones are seen
    assert seen == {"event:a", "event:b"}


async def test_nothing_is_seen_in_an_empty_store_or_for_no_keys(store: Store) -> None:
    assert await store.dedupe.seen(["event:a"]) == set()
    assert await store.dedupe.seen([]) == set()


async def test_keys_with_any_characters_are_remembered_exactly(store: Store) -> None:
    # GIVEN producer ids with characters Cosmos DB forbids in item ids, and near-duplicates
    keys = ["event:a/b", "event:a?b", "event:a#b", "event:a\\b", "event:ünï ✓", "event:A/B"]
    await store.dedupe.remember(keys[:-1], ttl_s=3600)
    # WHEN asking about all of them
    seen = await store.dedupe.seen(keys)
    # THEN each is matched exactly (case and all)
    assert seen == set(keys[:-1])


async def test_many_keys_are_looked_up_in_one_call(store: Store) -> None:
    # GIVEN a batch-sized set of remembered keys (more than one query chunk)
    keys = [f"event:{i}" for i in range(450)]
    await store.dedupe.remember(keys[::2], ttl_s=3600)
    # WHEN asking about all of them
    seen = await store.dedupe.seen(keys)
    # THEN every other one is seen
    assert seen == set(keys[::2])


async def test_remembered_keys_are_forgotten_after_their_ttl(store: Store) -> None:
    # GIVEN one key remembered briefly and one for long
    await store.dedupe.remember(["event:brief"], ttl_s=1)
    await store.dedupe.remember(["event:long"], ttl_s=3600)
    assert await store.dedupe.seen(["event:brief", "event:long"]) == {"event:brief", "event:long"}
    # WHEN the short TTL has passed (polled: the store decides when, not the test)
    deadline = time.monotonic() + EXPIRY_DEADLINE_S
    while "event:brief" in await store.dedupe.seen(["event:brief"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    # THEN only the long-lived key is still seen
    assert await store.dedupe.seen(["event:brief", "event:long"]) == {"event:long"}


async def test_remembering_again_extends_the_ttl(store: Store) -> None:
    # GIVEN a key remembered briefly, then again for long
    await store.dedupe.remember(["event:a"], ttl_s=1)
    await store.dedupe.remember(["event:a"], ttl_s=3600)
    # WHEN the first TTL has passed
    await asyncio.sleep(1.5)
    # THEN the key is still seen
    assert await store.dedupe.seen(["event:a"]) == {"event:a"}
