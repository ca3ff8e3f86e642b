"""Pushing safely, `squall rules history` and `squall rules rollback N`, as a user runs them (subprocesses,
a SQLite store in tmp_path)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from shared.store.sqlite import SqliteStore
from tests.functional.test_rules_store_cli import COPILOT, squall, stored_version


@pytest.fixture
def db(tmp_path: Path, rules_dir: Path) -> Path:
    """A store holding version 1: the two rules of ``rules_dir``."""
    path = tmp_path / "squall.db"
    assert squall("push", str(rules_dir), store=path).returncode == 0
    return path


def test_pushing_an_empty_folder_is_refused_in_one_line_and_stores_nothing(tmp_path: Path, db: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    # WHEN an empty folder is pushed, with or without --prune
    for extra in ((), ("--prune",)):
        pushed = squall("push", str(empty), *extra, store=db)
        # THEN exit 1, one line saying what is wrong, no traceback, nothing stored
        assert pushed.returncode == 1
        assert pushed.stdout == ""
        assert pushed.stderr == (
            f"error: {empty}: no rules to push: refusing to store an empty rule set; version 1 holds 2 rule(s); "
            "nothing stored\n"
        )
    assert stored_version(db) == 1


def test_a_push_that_would_remove_rules_lists_them_and_needs_prune(rules_dir: Path, db: Path) -> None:
    # GIVEN one of the two stored rules' files is gone
    (rules_dir / "teams.yaml").unlink()
    # WHEN the folder is pushed without --prune
    refused = squall("push", str(rules_dir), store=db)
    # THEN exit 1, the rule that would go is listed, and nothing is stored
    assert refused.returncode == 1
    assert refused.stdout == "- teams-first-session\n"
    assert "would remove 1 stored rule(s): teams-first-session; add --prune" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert stored_version(db) == 1
    # AND with --prune the removal is stored as version 2
    pruned = squall("push", str(rules_dir), "--prune", store=db)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines() == [
        "- teams-first-session",
        "rule set 'default' version 2 stored (0 added, 1 removed, 0 changed, 1 unchanged)",
    ]


def test_history_lists_versions_with_counts_and_changes(rules_dir: Path, db: Path) -> None:
    # GIVEN version 2 changed one rule, version 3 removed the other
    (rules_dir / "copilot.yaml").write_text(COPILOT.replace("P30D", "P90D"))
    assert squall("push", str(rules_dir), store=db).returncode == 0
    (rules_dir / "teams.yaml").unlink()
    assert squall("push", str(rules_dir), "--prune", store=db).returncode == 0
    # WHEN the history is listed
    listed = squall("history", store=db)
    # THEN newest first: version, when, how many rules, what changed
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "rule set 'default': newest version 3"
    assert lines[1].split() == ["VERSION", "STORED", "RULES", "CHANGES"]
    rows = [line.split() for line in lines[2:]]
    assert [(row[0], row[3], row[4:]) for row in rows] == [
        ("3", "1", ["-teams-first-session"]),
        ("2", "2", ["~copilot-first-use"]),
        ("1", "2", ["+copilot-first-use", "+teams-first-session"]),
    ]
    # AND --json gives the same as data
    document = json.loads(squall("history", "--json", "--limit", "2", store=db).stdout)
    assert [(v["version"], v["rules"], v["removed"], v["changed"]) for v in document["versions"]] == [
        (3, 1, ["teams-first-session"], []),
        (2, 2, [], ["copilot-first-use"]),
    ]
    assert (document["ruleset"], document["version"]) == ("default", 3)


def test_rollback_stores_an_old_version_again_as_a_new_version(tmp_path: Path, rules_dir: Path, db: Path) -> None:
    # GIVEN version 2 removed a rule
    (rules_dir / "teams.yaml").unlink()
    assert squall("push", str(rules_dir), "--prune", store=db).returncode == 0
    # WHEN version 1 is rolled back to
    rolled = squall("rollback", "1", store=db)
    # THEN version 3 holds version 1's rules, and the output says so
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines() == [
        "+ teams-first-session",
        "rule set 'default' version 3 stored: the rules of version 1 (1 added, 0 removed, 0 changed, 1 unchanged)",
    ]
    first = json.loads(squall("list", "--json", store=db).stdout)
    assert (first["version"], sorted(r["id"] for r in first["rules"])) == (
        3, ["copilot-first-use", "teams-first-session"])  # fmt: skip
    # AND rolling back to version 2 is a new version 4 (nothing overwritten), reported as JSON
    again = json.loads(squall("rollback", "2", "--json", store=db).stdout)
    assert again == {"ruleset": "default", "version": 4, "restored_version": 2, "changed": True,
                     "diff": {"added": [], "removed": ["teams-first-session"], "changed": []}}  # fmt: skip
    assert stored_version(db) == 4


def test_rollback_to_a_version_never_stored_is_one_line_and_exit_1(db: Path) -> None:
    rolled = squall("rollback", "7", store=db)
    assert (rolled.returncode, rolled.stdout) == (1, "")
    assert rolled.stderr == "error: rule set 'default' has no version 7; only version 1 is stored; nothing stored\n"
    assert stored_version(db) == 1


def test_rollback_to_rules_that_are_no_longer_valid_names_the_problem_and_stores_nothing(tmp_path: Path) -> None:
    # GIVEN a version 1 that today's validation refuses (stored by an older release)
    db = tmp_path / "old.db"

    async def store_old_version() -> None:
        store = SqliteStore(db)
        try:
            await store.rules.save_ruleset("default", [{"id": "old", "colour": "red"}])
            await store.rules.save_ruleset("default", [{"id": "new", "action": {
                "kind": "journey_entry", "event_definition_key": "APIEvent-new"}}])  # fmt: skip
        finally:
            await store.close()

    asyncio.run(store_old_version())
    # WHEN version 1 is rolled back to  THEN exit 1, the problem with rule id and path, nothing stored
    rolled = squall("rollback", "1", store=db)
    assert rolled.returncode == 1
    assert "old  $.colour  unknown field 'colour'" in rolled.stdout.splitlines()
    assert rolled.stderr == "1 rules invalid; nothing stored\n"
    assert stored_version(db) == 2


def test_history_of_an_empty_store_says_nothing_is_stored(tmp_path: Path) -> None:
    listed = squall("history", store=tmp_path / "new.db")
    assert (listed.returncode, listed.stdout) == (0, "rule set 'default': nothing stored yet (version 0)\n")
