"""Rule sets: versioned, newest wins, a cheap version check (every adapter)."""

from __future__ import annotations

import asyncio

import pytest

from shared.store import RuleSetNotFound, Store

pytestmark = pytest.mark.anyio

RULES = [{"id": "teams-adoption", "when": {"field": "type", "op": "eq", "value": "TeamsSessionStarted"}}]


async def test_unknown_ruleset_has_version_zero_and_cannot_be_loaded(store: Store) -> None:
    # GIVEN an empty store
    # WHEN asking for a rule set nobody saved
    version = await store.rules.ruleset_version("default")
    # THEN its version is 0 and loading it names the missing set
    assert version == 0
    with pytest.raises(RuleSetNotFound, match="default"):
        await store.rules.load_ruleset("default")


async def test_each_save_bumps_the_version_and_load_returns_the_newest(store: Store) -> None:
    # GIVEN two saved versions of one rule set
    first = await store.rules.save_ruleset("default", RULES)
    second = await store.rules.save_ruleset("default", [*RULES, {"id": "copilot-first-use"}])
    # WHEN loading it
    snapshot = await store.rules.load_ruleset("default")
    # THEN versions count up and the newest definitions come back, unchanged
    assert (first, second) == (1, 2)
    assert await store.rules.ruleset_version("default") == 2
    assert snapshot.name == "default"
    assert snapshot.version == 2
    assert snapshot.rules == [*RULES, {"id": "copilot-first-use"}]


async def test_rule_sets_are_versioned_independently_by_name(store: Store) -> None:
    # GIVEN two rule sets
    await store.rules.save_ruleset("default", RULES)
    await store.rules.save_ruleset("default", RULES)
    # WHEN a second set gets its first version
    version = await store.rules.save_ruleset("pilot", [])
    # THEN it starts at 1 and leaves the other alone
    assert version == 1
    assert await store.rules.ruleset_version("default") == 2
    assert (await store.rules.load_ruleset("pilot")).rules == []


async def test_concurrent_saves_of_one_rule_set_get_distinct_versions(store: Store) -> None:
    # GIVEN five writers saving the same rule set at once
    # WHEN they all finish
    versions = await asyncio.gather(
        *(store.rules.save_ruleset("default", [{"id": f"r{i}"}]) for i in range(5))
    )
    # THEN no two writers got the same number, and the head is the highest
    assert sorted(versions) == [1, 2, 3, 4, 5]
    assert (await store.rules.load_ruleset("default")).version == 5


async def test_every_version_stays_readable_with_when_it_was_stored(store: Store) -> None:
    # GIVEN three versions of one rule set
    await store.rules.save_ruleset("default", RULES)
    await store.rules.save_ruleset("default", [*RULES, {"id": "copilot-first-use"}])
    await store.rules.save_ruleset("default", [])
    # WHEN an older version is read
    first = await store.rules.load_ruleset_version("default", 1)
    # THEN it holds exactly what was saved as version 1, with the time it was stored
    assert (first.name, first.version, first.rules) == ("default", 1, RULES)
    assert first.created_at is not None and first.created_at.tzinfo is not None
    # AND a version that was never stored is not found, naming the version
    for missing in (0, 4):
        with pytest.raises(RuleSetNotFound, match=f"version {missing}"):
            await store.rules.load_ruleset_version("default", missing)


async def test_history_lists_the_newest_versions_first_and_respects_the_limit(store: Store) -> None:
    # GIVEN four versions
    for count in range(1, 5):
        await store.rules.save_ruleset("default", [{"id": f"r{i}"} for i in range(count)])
    # WHEN the history is read, whole and limited
    whole = await store.rules.ruleset_history("default")
    newest_two = await store.rules.ruleset_history("default", limit=2)
    # THEN newest first, each with its rules; the limit keeps the newest
    assert [(s.version, len(s.rules)) for s in whole] == [(4, 4), (3, 3), (2, 2), (1, 1)]
    assert [s.version for s in newest_two] == [4, 3]
    assert all(s.created_at is not None for s in whole)
    # AND an unknown rule set has no history
    assert await store.rules.ruleset_history("nobody") == []
