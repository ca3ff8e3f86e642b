"""`squall rules push|list|diff` as a user runs them: subprocesses, a SQLite store in tmp_path."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RULES = ROOT / "rules"
# The `rules` group is another module's; register push/list/diff on it unless the CLI already has.
ENTRY = (
    "from squall.commands import rules_cmd, rules_store_cmd\n"
    "if not any(c.name == 'push' for c in rules_cmd.rules_app.registered_commands):\n"
    "    rules_store_cmd.register_on(rules_cmd.rules_app)\n"
    "from squall.cli import app\n"
    "app(prog_name='squall')\n"
)

COPILOT = """\
id: copilot-first-use
when: {source: o365, types: ["Copilot/CopilotInteraction"]}
cooldown: P30D
action: {kind: journey_entry, event_definition_key: APIEvent-copilot}
"""
TEAMS = """\
id: teams-first-session
priority: 100
when: {source: o365, types: ["MicrosoftTeams/TeamsSessionStarted"]}
action: {kind: journey_entry, event_definition_key: APIEvent-teams}
"""
BAD = """\
rules:
  - id: teams-first-session
    condition: {field: attributes.result_status, op: equals, value: succeeded}
    action: {kind: journey_entry, event_definition_key: APIEvent-teams}
"""


def squall(*args: str, store: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SQUALL_")}
    if store is not None:
        env["SQUALL_STORE"] = f"sqlite:{store}"
    return subprocess.run([sys.executable, "-c", ENTRY, "rules", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def stored_version(db: Path, ruleset: str = "default") -> int:
    store = SqliteStore(db)
    try:
        return asyncio.run(store.rules.ruleset_version(ruleset))
    finally:
        asyncio.run(store.close())


def test_push_stores_the_sample_rules_as_version_1_and_list_shows_them(tmp_path: Path) -> None:
    db = tmp_path / "squall.db"
    # WHEN the shipped sample rules are pushed (store from SQUALL_STORE)
    pushed = squall("push", str(SAMPLE_RULES), store=db)
    # THEN exit 0, one + line per rule, and version 1 is stored
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    added = [line for line in pushed.stdout.splitlines() if line.startswith("+ ")]
    assert len(added) >= 6 and "+ teams-first-session" in added
    assert pushed.stdout.splitlines()[-1] == (
        f"rule set 'default' version 1 stored ({len(added)} added, 0 removed, 0 changed, 0 unchanged)")
    assert stored_version(db) == 1
    # AND list --json returns exactly those rules
    listed = squall("list", "--json", store=db)
    document = json.loads(listed.stdout)
    assert (listed.returncode, document["version"], len(document["rules"])) == (0, 1, len(added))


def test_pushing_the_same_rules_again_stores_nothing(tmp_path: Path, rules_dir: Path) -> None:
    db = tmp_path / "squall.db"
    assert squall("push", str(rules_dir), "--store", f"sqlite:{db}").returncode == 0
    again = squall("push", str(rules_dir), "--store", f"sqlite:{db}")
    assert (again.returncode, again.stdout) == (0, "rule set 'default' unchanged at version 1\n")
    assert stored_version(db) == 1


def test_diff_shows_added_removed_and_changed_rules_and_exits_1(tmp_path: Path, rules_dir: Path) -> None:
    # GIVEN the two rules are stored
    db = tmp_path / "squall.db"
    assert squall("push", str(rules_dir), store=db).returncode == 0
    # WHEN one rule is edited, one deleted and one added in the folder
    (rules_dir / "copilot.yaml").write_text(COPILOT.replace("P30D", "P90D") + "priority: 7\n")
    (rules_dir / "teams.yaml").unlink()
    (rules_dir / "new.json").write_text(json.dumps(
        {"id": "brand-new", "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-new"}}))
    diff = squall("diff", str(rules_dir), store=db)
    # THEN exit 1 and one line per change, the changed rule with its changed fields
    assert diff.returncode == 1, diff.stderr
    assert diff.stdout.splitlines() == [
        "+ brand-new",
        "- teams-first-session",
        "~ copilot-first-use  (cooldown, priority)",
        "1 added, 1 removed, 1 changed, 0 unchanged",
    ]
    # AND diff stored nothing
    assert stored_version(db) == 1


def test_diff_without_changes_exits_0(tmp_path: Path, rules_dir: Path) -> None:
    db = tmp_path / "squall.db"
    squall("push", str(rules_dir), store=db)
    diff = squall("diff", str(rules_dir), store=db)
    assert (diff.returncode, diff.stdout) == (0, "no changes (2 rules unchanged)\n")


def test_push_of_an_invalid_rule_exits_1_with_rule_id_path_and_message_and_stores_nothing(
    tmp_path: Path, rules_dir: Path
) -> None:
    # GIVEN version 1 stored, then a folder where one of two rules is invalid
    db = tmp_path / "squall.db"
    squall("push", str(rules_dir), store=db)
    (rules_dir / "teams.yaml").write_text(BAD)
    # WHEN pushed
    pushed = squall("push", str(rules_dir), store=db)
    # THEN exit 1, the problem with rule id, path, message and file:line; nothing stored
    assert pushed.returncode == 1
    assert pushed.stdout.startswith(
        "teams-first-session  $.condition.op  unknown operator 'equals'")
    assert pushed.stdout.rstrip().endswith(f"({rules_dir / 'teams.yaml'}:2)")
    assert pushed.stderr.strip() == "1 of 2 rules invalid; nothing stored"
    assert stored_version(db) == 1
    # AND diff refuses the same folder with exit 2
    assert squall("diff", str(rules_dir), store=db).returncode == 2


def test_list_prints_a_table_in_evaluation_order(tmp_path: Path, rules_dir: Path) -> None:
    db = tmp_path / "squall.db"
    squall("push", str(rules_dir), "--ruleset", "staging", store=db)
    listed = squall("list", "--ruleset", "staging", store=db)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0] == "rule set 'staging' version 1: 2 rules"
    assert lines[1].split() == ["ID", "ENABLED", "PRIORITY", "TYPES", "ACTION"]
    assert lines[2].split() == ["teams-first-session", "yes", "100", "o365:MicrosoftTeams/TeamsSessionStarted",
                                "journey_entry", "APIEvent-teams"]
    assert lines[3].split()[0] == "copilot-first-use"


def test_list_of_an_empty_store_says_nothing_is_stored(tmp_path: Path) -> None:
    listed = squall("list", store=tmp_path / "squall.db")
    assert (listed.returncode, listed.stdout) == (0, "rule set 'default': nothing stored yet (version 0)\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("push", "{rules}", "--store", "floppy:A"), "SQUALL_STORE='floppy:A' is not a store"),
        (("push", "{missing}"), "no such file or directory"),
        (("list", "--ruleset", "../x"), "rule set name '../x' is invalid"),
    ],
)
def test_commands_that_cannot_run_exit_2_with_the_reason(
    tmp_path: Path, rules_dir: Path, args: tuple[str, ...], message: str
) -> None:
    filled = [arg.format(rules=rules_dir, missing=tmp_path / "missing") for arg in args]
    result = squall(*filled, store=tmp_path / "squall.db")
    assert result.returncode == 2
    assert message in result.stderr


def test_push_of_an_unparsable_file_exits_1(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "broken.yaml").write_text("id: x\naction: [unclosed\n")
    result = squall("push", str(rules_dir), store=tmp_path / "squall.db")
    assert result.returncode == 1
    assert "broken.yaml:3: invalid YAML" in result.stderr
