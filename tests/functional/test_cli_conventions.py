"""What every command line tool owes its user: ``--version``, shell completion, and ``--json`` (one
JSON object on stdout) on every command that reports — here the rule commands that lacked it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from tests.functional.test_rules_store_cli import BAD, COPILOT

ROOT = Path(__file__).resolve().parents[2]


def squall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SQUALL_")}
    return subprocess.run([sys.executable, "-m", "squall", *args], cwd=ROOT, env=clean | (env or {}),
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_version_prints_the_installed_package_version() -> None:
    result = squall("--version")
    assert (result.returncode, result.stdout) == (0, f"squall {version('squall')}\n")


def test_show_completion_prints_a_bash_script_that_completes_commands() -> None:
    # WHEN the bash completion script is asked for
    script = squall("--show-completion", "bash")
    # THEN it is a bash completion function for `squall`, driven by _SQUALL_COMPLETE
    assert script.returncode == 0, script.stderr
    assert "complete -o default -F _squall_completion squall" in script.stdout
    assert "_SQUALL_COMPLETE=complete_bash" in script.stdout
    # AND what the script runs completes `squall ru` to the commands starting with "ru"
    completion = squall(env={"_SQUALL_COMPLETE": "complete_bash", "COMP_WORDS": "squall ru", "COMP_CWORD": "1"})
    assert completion.returncode == 0, completion.stderr
    assert sorted(completion.stdout.split()) == ["rules", "run"]


def test_show_completion_writes_the_named_shell_s_script_whatever_shell_runs_it() -> None:
    # WHEN the zsh and fish scripts are asked for by name (from a test run under bash, or under no
    # shell at all: Typer's default detection ignored the name and failed with "Shell  not supported.")
    zsh, fish = squall("--show-completion", "zsh"), squall("--show-completion", "fish")
    # THEN each is that shell's script
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.startswith("#compdef squall")
    assert fish.returncode == 0, fish.stderr
    assert fish.stdout.startswith("complete --command squall")
    # AND a shell Typer cannot write for is refused in one line naming the ones it can
    refused = squall("--show-completion", "tcsh")
    assert refused.returncode == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish', 'powershell', 'pwsh'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_validate_json_counts_the_rules_and_lists_each_problem_with_file_and_line(rules_dir: Path) -> None:
    # GIVEN two valid rules
    valid = squall("rules", "validate", str(rules_dir), "--json")
    # THEN one JSON object: valid, 2 rules read, no problem
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout) == {"path": str(rules_dir), "valid": True, "rules": 2, "invalid": 0, "errors": []}
    # WHEN one of them is made invalid
    (rules_dir / "teams.yaml").write_text(BAD)
    invalid = squall("rules", "validate", str(rules_dir), "--json")
    # THEN exit 1 and the problem with rule id, JSON path, message, file and line
    assert invalid.returncode == 1
    document = json.loads(invalid.stdout)
    assert (document["valid"], document["rules"], document["invalid"]) == (False, 2, 1)
    assert document["errors"][0] == {
        "rule_id": "teams-first-session",
        "path": "$.condition.op",
        "message": document["errors"][0]["message"],
        "file": str(rules_dir / "teams.yaml"),
        "line": 2,
    }
    assert document["errors"][0]["message"].startswith("unknown operator 'equals'")


def test_push_and_diff_json_report_the_version_and_the_changes(tmp_path: Path, rules_dir: Path) -> None:
    store = f"sqlite:{tmp_path / 'squall.db'}"
    # WHEN the two rules are pushed with --json
    pushed = squall("rules", "push", str(rules_dir), "--store", store, "--json")
    # THEN one object: the version stored and the ids added
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout) == {
        "ruleset": "default",
        "version": 1,
        "changed": True,
        "diff": {"added": ["copilot-first-use", "teams-first-session"], "removed": [], "changed": []},
    }
    # WHEN a rule is edited and diffed with --json
    (rules_dir / "copilot.yaml").write_text(COPILOT.replace("P30D", "P90D"))
    diff = squall("rules", "diff", str(rules_dir), "--store", store, "--json")
    # THEN exit 1 (changes) and the changed rule with its fields
    assert diff.returncode == 1, diff.stderr
    assert json.loads(diff.stdout) == {
        "ruleset": "default",
        "has_changes": True,
        "added": [],
        "removed": [],
        "changed": [{"rule_id": "copilot-first-use", "fields": ["cooldown"]}],
        "unchanged": 1,
    }


def test_push_json_of_an_invalid_rule_lists_the_problem_and_stores_nothing(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "teams.yaml").write_text(BAD)
    pushed = squall("rules", "push", str(rules_dir), "--store", f"sqlite:{tmp_path / 'squall.db'}", "--json")
    assert pushed.returncode == 1
    document = json.loads(pushed.stdout)
    assert (document["valid"], document["invalid"], document["errors"][0]["rule_id"]) == (
        False, 1, "teams-first-session")  # fmt: skip
    assert pushed.stderr.strip() == "1 of 2 rules invalid; nothing stored"
