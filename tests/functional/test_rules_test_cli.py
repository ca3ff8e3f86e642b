"""`squall rules test RULES EVENTS` as a user runs it: a dry run that prints firings and sends nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shared.actions.planning import idempotency_key

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SQUALL = [sys.executable, "-m", "squall"]

RULES = """\
id: aad-failed-sign-in
when: {source: o365, types: ["AzureActiveDirectory/*"]}
condition: {field: attributes.result_status, op: eq, value: failed}
cooldown: P1D
action: {kind: journey_entry, event_definition_key: APIEvent-signin-help, contact_key: "{attributes.UserKey}"}
"""


def squall(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SQUALL, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, input=stdin)


def test_dry_run_reports_each_firing_as_json_with_planned_keys(tmp_path: Path) -> None:
    # GIVEN the Microsoft docs sample records (two failed sign-ins of one user, seconds apart) and a bad line
    (tmp_path / "rules.yaml").write_text(RULES)
    events = (FIXTURES / "o365_microsoft_docs.jsonl").read_text() + "{not json\n"
    # WHEN replayed from stdin with --json
    result = squall("rules", "test", str(tmp_path / "rules.yaml"), "-", "--json", stdin=events)
    # THEN one firing: the first failed sign-in; the second is inside the cool-down; the bad line is on stderr
    assert result.returncode == 0, result.stderr
    firings = json.loads(result.stdout)
    assert [{k: f[k] for k in ("time", "rule_id", "entity", "event_id", "contact_key")} for f in firings] == [
        {
            "time": "2015-06-29T20:03:19Z",
            "rule_id": "aad-failed-sign-in",
            "entity": "admin@contoso.onmicrosoft.com",
            "event_id": "80c76bd2-9d81-4c57-a97a-accfc3443dca",
            "contact_key": "1153977025279851686@contoso.onmicrosoft.com",
        }
    ]
    assert firings[0]["action_key"] == idempotency_key(
        "aad-failed-sign-in", 0, "80c76bd2-9d81-4c57-a97a-accfc3443dca", "journey_entry"
    )
    lines = (FIXTURES / "o365_microsoft_docs.jsonl").read_text().count("\n") + 1
    assert f"rejected: line {lines}: invalid JSON" in result.stderr


def test_dry_run_prints_a_table_and_a_summary(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    result = squall(
        "rules", "test", str(tmp_path / "rules.yaml"), str(FIXTURES / "o365_microsoft_docs.jsonl"), "--clock", "wall"
    )
    assert result.returncode == 0, result.stderr
    assert "aad-failed-sign-in" in result.stdout and "80c76bd2-9d81-4c57-a97a-accfc3443dca" in result.stdout
    assert ", 1 firings, 0 rejected, 0 duplicates, clock wall" in result.stdout


def test_dry_run_refuses_a_bad_clock_invalid_rules_and_missing_events(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "bad.yaml").write_text(RULES.replace("op: eq", "op: equals"))
    events = str(FIXTURES / "o365_microsoft_docs.jsonl")
    bad_clock = squall("rules", "test", str(tmp_path / "rules.yaml"), events, "--clock", "lunar")
    invalid = squall("rules", "test", str(tmp_path / "bad.yaml"), events)
    missing = squall("rules", "test", str(tmp_path / "rules.yaml"), str(tmp_path / "none.jsonl"))
    assert bad_clock.returncode == 2 and "expected one of event, wall" in bad_clock.stderr
    assert invalid.returncode == 1 and "unknown operator 'equals'" in invalid.stdout
    assert missing.returncode == 2 and "no such file or directory" in missing.stderr
