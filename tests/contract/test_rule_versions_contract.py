"""Safe pushes, history and rollback on every adapter (memory, SQLite, the Cosmos DB protocol server):
``RuleSetAdmin`` over ``store.rules``, so each store keeps every version and restores any."""

from __future__ import annotations

from typing import Any

import pytest

from shared.rules_admin import PushRefused, RuleSetAdmin, VersionNotFound
from shared.store import Store

pytestmark = pytest.mark.anyio


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "action": {"kind": "journey_entry", "event_definition_key": f"APIEvent-{rule_id}"}, **fields}


async def test_pushes_history_and_rollback_keep_every_version(store: Store) -> None:
    admin = RuleSetAdmin(store.rules, "default")
    # GIVEN version 1 (a, b), a refused empty push and a refused removal, then version 2 pruned to b
    await admin.push([rule("a"), rule("b")])
    with pytest.raises(PushRefused):
        await admin.push([])
    with pytest.raises(PushRefused):
        await admin.push([rule("b", priority=2)])
    await admin.push([rule("b", priority=2)], prune=True)
    # WHEN version 1 is rolled back to
    outcome = await admin.rollback(1)
    # THEN it is version 3, every version is still readable, and the history says what each changed
    assert (outcome.version, outcome.changed) == (3, True)
    assert (await admin.version(1)).rules == [rule("a"), rule("b")]
    assert (await admin.version(2)).rules == [rule("b", priority=2)]
    assert (await admin.current()).rules == [rule("a"), rule("b")]
    history = await admin.history()
    assert [(v.version, v.rules, v.added, v.removed, v.changed) for v in history.versions] == [
        (3, 2, ("a",), (), ("b",)),
        (2, 1, (), ("a",), ("b",)),
        (1, 2, ("a", "b"), (), ()),
    ]
    with pytest.raises(VersionNotFound):
        await admin.version(4)
