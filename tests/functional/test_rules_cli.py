"""`squall rules validate PATH` as a user runs it: a subprocess, exit codes, one line per problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQUALL = [sys.executable, "-m", "squall"]

GOOD = """\
id: copilot-first-use
when: {source: o365, types: ["Copilot/CopilotInteraction"]}
cooldown: P30D
action: {kind: journey_entry, event_definition_key: APIEvent-copilot}
"""

BAD = """\
rules:
  - id: teams-first-session
    condition:
      all:
        - {field: attributes.result_status, op: equals, value: succeeded}
        - {field: attributes.client_ip, op: exists}
    cooldown: 30 days
    action: {kind: journey_entry, event_definition_key: APIEvent-teams}
  - id: copilot-first-use
    colour: blue
    action: {kind: journey_entry, event_definition_key: APIEvent-copilot}
"""


def squall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SQUALL, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_shipped_sample_rules_are_valid() -> None:
    result = squall("rules", "validate", "rules")
    assert result.returncode == 0, result.stdout + result.stderr
    count = int(result.stdout.strip().split()[0])
    assert count >= 6 and result.stdout.strip() == f"{count} rules valid"


def test_valid_file_exits_0_with_the_count(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    result = squall("rules", "validate", str(tmp_path / "good.yaml"))
    assert (result.returncode, result.stdout) == (0, "1 rules valid\n")


def test_invalid_rules_exit_1_with_rule_id_path_and_message_per_problem(tmp_path: Path) -> None:
    # GIVEN a directory with one good file and one file holding three problems in two rules
    (tmp_path / "a-good.yaml").write_text(GOOD.replace("copilot-first-use", "copilot-other"))
    (tmp_path / "b-bad.yaml").write_text(BAD)
    # WHEN validated
    result = squall("rules", "validate", str(tmp_path))
    # THEN exit 1, one line per problem: rule id, JSON path, message, and where the rule is
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    bad_file = tmp_path / "b-bad.yaml"
    assert lines[0].startswith("teams-first-session  $.condition.all[0].op  unknown operator 'equals'")
    assert lines[0].endswith(f"({bad_file}:2)")
    assert lines[1].startswith("teams-first-session  $.cooldown  invalid duration '30 days'")
    assert lines[2] == f"copilot-first-use  $.colour  unknown field 'colour'  ({bad_file}:9)"
    assert result.stderr.strip() == "2 of 3 rules invalid"


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(GOOD)
    (tmp_path / "two.yaml").write_text(GOOD)
    result = squall("rules", "validate", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith("copilot-first-use  $.id  duplicate rule id 'copilot-first-use'")
    assert "two.yaml:1" in result.stdout


def test_unparsable_file_exits_1_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\naction: [unclosed\n")
    result = squall("rules", "validate", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {path}:3: invalid YAML")
    assert "Traceback" not in result.stderr


def test_missing_path_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    result = squall("rules", "validate", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path / 'nope'}: no such file or directory\n"
