"""Safe pushes, history and rollback in ``RuleSetAdmin`` (in-memory store): every change is a new version."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.rules_admin import PushRefused, RuleSetAdmin, RulesInvalid, VersionMismatch, VersionNotFound
from shared.rules_admin.problems import problem_for
from shared.store.memory import MemoryStore


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "action": {"kind": "journey_entry", "event_definition_key": f"APIEvent-{rule_id}"}, **fields}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture
def admin() -> RuleSetAdmin:
    return RuleSetAdmin(MemoryStore().rules, "default")


def test_pushing_no_rules_is_refused_and_stores_nothing(admin: RuleSetAdmin) -> None:
    run(admin.push([rule("a"), rule("b")]))
    # WHEN an empty set is pushed, even with prune
    for prune in (False, True):
        with pytest.raises(PushRefused, match="refusing to store an empty rule set; version 1 holds 2 rule"):
            run(admin.push([], prune=prune))
    # THEN nothing was stored
    assert run(admin.current()).version == 1


def test_a_push_that_removes_rules_is_refused_without_prune_and_names_them(admin: RuleSetAdmin) -> None:
    run(admin.push([rule("a"), rule("b"), rule("c")]))
    # WHEN a push leaves out two stored rules
    with pytest.raises(PushRefused) as refused:
        run(admin.push([rule("b", priority=3)]))
    # THEN it is refused, naming them, and nothing is stored; the problem is a 400
    assert refused.value.removed == ("a", "c")
    assert "would remove 2 stored rule(s): a, c; add --prune" in str(refused.value)
    assert run(admin.current()).version == 1
    assert problem_for(refused.value).status == 400
    # AND with prune it is stored
    pruned = run(admin.push([rule("b", priority=3)], prune=True))
    assert (pruned.version, pruned.diff.removed) == (2, ("a", "c"))


def test_a_push_that_only_adds_or_changes_needs_no_prune(admin: RuleSetAdmin) -> None:
    run(admin.push([rule("a")]))
    outcome = run(admin.push([rule("a", priority=1), rule("b")]))
    assert (outcome.version, outcome.diff.added, [c.rule_id for c in outcome.diff.changed]) == (2, ("b",), ["a"])


def test_invalid_rules_are_reported_before_the_removal_check(admin: RuleSetAdmin) -> None:
    run(admin.push([rule("a"), rule("b")]))
    with pytest.raises(RulesInvalid):
        run(admin.push([rule("a", colour="red")]))


def test_history_lists_versions_newest_first_with_what_each_changed(admin: RuleSetAdmin) -> None:
    # GIVEN three versions: a+b, then b changed and c added, then a removed
    run(admin.push([rule("a"), rule("b")]))
    run(admin.push([rule("a"), rule("b", priority=5), rule("c")]))
    run(admin.push([rule("b", priority=5), rule("c")], prune=True))
    # WHEN the history is read
    history = run(admin.history())
    # THEN newest first, with counts and added/removed/changed ids
    assert (history.ruleset, history.version) == ("default", 3)
    assert [(v.version, v.rules, v.added, v.removed, v.changed) for v in history.versions] == [
        (3, 2, (), ("a",), ()),
        (2, 3, ("c",), (), ("b",)),
        (1, 2, ("a", "b"), (), ()),
    ]
    assert all(v.created_at and v.created_at.endswith("Z") for v in history.versions)
    # AND a limit keeps the newest, still compared with the version before each
    [newest] = run(admin.history(limit=1)).versions
    assert (newest.version, newest.removed) == (3, ("a",))


def test_history_of_an_unknown_rule_set_is_empty(admin: RuleSetAdmin) -> None:
    assert run(admin.history()).versions == ()


def test_rollback_stores_an_old_version_again_as_the_newest(admin: RuleSetAdmin) -> None:
    run(admin.push([rule("a"), rule("b")]))
    run(admin.push([rule("c")], prune=True))
    # WHEN version 1 is rolled back to
    outcome = run(admin.rollback(1))
    # THEN it is stored as version 3, and versions 1 and 2 are unchanged
    assert (outcome.version, outcome.changed, outcome.diff.added, outcome.diff.removed) == (3, True, ("a", "b"), ("c",))
    assert run(admin.current()).rules == [rule("a"), rule("b")]
    assert run(admin.version(2)).rules == [rule("c")]
    assert run(admin.version(1)).rules == [rule("a"), rule("b")]
    # AND rolling back to what the newest version already holds stores nothing
    again = run(admin.rollback(1))
    assert (again.version, again.changed) == (3, False)


def test_rollback_checks_if_match_and_unknown_versions(admin: RuleSetAdmin) -> None:
    run(admin.push([rule("a")]))
    run(admin.push([rule("a"), rule("b")]))
    with pytest.raises(VersionMismatch):
        run(admin.rollback(1, if_version=1))
    for missing in (0, 3, -1):
        with pytest.raises(VersionNotFound, match=f"no version {missing}; versions 1-2 are stored") as absent:
            run(admin.rollback(missing))
    assert problem_for(absent.value).status == 404
    assert run(admin.current()).version == 2
