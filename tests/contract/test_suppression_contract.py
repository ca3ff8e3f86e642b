"""The suppression list, stored with the rules: versioned, by entity hash, one per store (every adapter)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from shared.store import Store

pytestmark = [pytest.mark.anyio, pytest.mark.contract_feature("suppression")]


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def test_a_store_without_suppressions_has_version_zero_and_an_empty_list(store: Store) -> None:
    # GIVEN a fresh store  WHEN its suppression list is read  THEN it is empty at version 0
    assert await store.rules.suppression_version() == 0
    listed = await store.rules.load_suppression()
    assert (listed.version, listed.entries) == (0, ())


async def test_suppressing_moves_the_version_and_lists_each_hash_once_with_when(store: Store) -> None:
    # GIVEN two entities suppressed
    first = await store.rules.suppress([digest("ann@contoso.com"), digest("bob@contoso.com")])
    listed = await store.rules.load_suppression()
    # WHEN one of them is suppressed again, with the same hash twice
    again = await store.rules.suppress([digest("ann@contoso.com"), digest("ann@contoso.com")])
    # THEN the first call moved the version; the repeat changed nothing, not even when it was added
    assert first == await store.rules.suppression_version() == again >= 1
    assert listed.hashes == {digest("ann@contoso.com"), digest("bob@contoso.com")}
    assert all(entry.added_at is not None and entry.added_at.utcoffset() is not None for entry in listed.entries)
    assert (await store.rules.load_suppression()).entries == listed.entries


async def test_unsuppressing_removes_listed_hashes_and_ignores_unknown_ones(store: Store) -> None:
    # GIVEN two suppressed entities
    added = await store.rules.suppress([digest("ann@contoso.com"), digest("bob@contoso.com")])
    # WHEN one is removed, then a hash that was never listed
    removed = await store.rules.unsuppress([digest("ann@contoso.com")])
    unknown = await store.rules.unsuppress([digest("nobody@contoso.com")])
    # THEN the removal moved the version and the other stays; the unknown one changed nothing
    assert removed > added
    assert unknown == removed
    listed = await store.rules.load_suppression()
    assert (listed.version, listed.hashes) == (removed, {digest("bob@contoso.com")})


async def test_hundreds_of_hashes_are_suppressed_and_removed_in_one_call(store: Store) -> None:
    # GIVEN 250 hashes (more than one Cosmos DB transactional batch holds)
    many = [digest(f"user-{n}@contoso.com") for n in range(250)]
    # WHEN they are suppressed in one call, then all but one removed in another
    await store.rules.suppress(many)
    suppressed = await store.rules.load_suppression()
    await store.rules.unsuppress(many[1:])
    # THEN every one was listed, and only the kept one is left
    assert suppressed.hashes == set(many)
    assert (await store.rules.load_suppression()).hashes == {many[0]}


async def test_concurrent_suppressions_are_all_kept(store: Store) -> None:
    # GIVEN eight admins suppressing different entities at once
    keys = [digest(f"user-{n}@contoso.com") for n in range(8)]
    # WHEN their calls race
    await asyncio.gather(*(store.rules.suppress([key]) for key in keys))
    # THEN none was lost, and the version moved at least once per change
    listed = await store.rules.load_suppression()
    assert listed.hashes == set(keys)
    assert listed.version >= 1


async def test_the_suppression_list_and_rule_sets_version_independently(store: Store) -> None:
    # GIVEN a rule set and a suppression
    await store.rules.save_ruleset("default", [{"id": "r1"}])
    suppression = await store.rules.suppress([digest("ann@contoso.com")])
    # WHEN a new rule-set version is saved
    await store.rules.save_ruleset("default", [{"id": "r2"}])
    # THEN the suppression list's version did not move, and the rule set's did not count the suppression
    assert await store.rules.suppression_version() == suppression
    assert await store.rules.ruleset_version("default") == 2
