"""`squall rules explain RULES EVENT` as a user runs it: a subprocess, trees or JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SQUALL = [sys.executable, "-m", "squall"]

RULES = """\
rules:
  - id: failed-sign-in
    priority: 10
    when: {source: o365, types: ["AzureActiveDirectory/*"]}
    condition:
      all:
        - {field: attributes.result_status, op: eq, value: failed}
        - {field: attributes.LoginStatus, op: lt, value: 0}
    cooldown: P1D
    action: {kind: journey_entry, event_definition_key: APIEvent-signin-help}
  - id: teams-only
    when: {source: o365, types: ["MicrosoftTeams/*"]}
    action: {kind: journey_entry, event_definition_key: APIEvent-teams}
"""


def squall(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SQUALL, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, input=stdin)


def first_failed_sign_in() -> str:
    """The first record of the Microsoft docs sample: a failed Azure AD password logon."""
    return (FIXTURES / "o365_microsoft_docs.jsonl").read_text().splitlines()[0]


def test_explain_prints_a_tree_with_values_and_the_verdict(tmp_path: Path) -> None:
    # GIVEN two rules and a raw O365 failed sign-in record
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "event.json").write_text(first_failed_sign_in())
    # WHEN explained
    result = squall("rules", "explain", str(tmp_path / "rules.yaml"), str(tmp_path / "event.json"))
    # THEN exit 0; the matching rule shows each condition with the value found; the other is not a candidate
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "failed-sign-in  priority 10  fires" in out
    assert "attributes.result_status eq 'failed'  found string 'failed'" in out
    assert "attributes.LoginStatus lt 0  found number -2147217390" in out
    assert "cool-down  never fired for this entity" in out
    assert "teams-only  priority 0  not a candidate: type 'AzureActiveDirectory/" in out
    assert out.rstrip().endswith("fires: failed-sign-in")


def test_explain_with_state_says_why_the_cooldown_suppressed_it_as_json(tmp_path: Path) -> None:
    # GIVEN a state where the rule fired two hours before the event (2015-06-29T20:03:19Z)
    (tmp_path / "rules.yaml").write_text(RULES)
    state = {"cooldowns": {"failed-sign-in": "2015-06-29T18:00:00Z"}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    # WHEN explained from stdin for that one rule, as JSON
    result = squall(
        "rules",
        "explain",
        str(tmp_path / "rules.yaml"),
        "-",
        "--rule",
        "failed-sign-in",
        "--state",
        str(tmp_path / "state.json"),
        "--json",
        stdin=first_failed_sign_in(),
    )
    # THEN the cool-down names the last firing and its end, and the rule does not fire
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["fired"] == []
    (rule,) = document["rules"]
    assert rule["cooldown"] == {
        "cooldown": "P1D",
        "last_fired": "2015-06-29T18:00:00Z",
        "until": "2015-06-30T18:00:00Z",
        "suppressed": True,
        "reason": "cool-down P1D runs until 2015-06-30T18:00:00Z (last fired 2015-06-29T18:00:00Z)",
    }
    assert rule["condition"]["children"][1]["actual"] == {"type": "number", "preview": "-2147217390"}
    assert document["event"]["id"] == "80c76bd2-9d81-4c57-a97a-accfc3443dca"


def test_explain_refuses_unknown_rule_bad_event_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "event.json").write_text(first_failed_sign_in())
    (tmp_path / "bad.json").write_text('{"hello": "world"}')
    rules_file, event = str(tmp_path / "rules.yaml"), str(tmp_path / "event.json")
    unknown = squall("rules", "explain", rules_file, event, "--rule", "nope")
    bad_event = squall("rules", "explain", rules_file, str(tmp_path / "bad.json"))
    missing = squall("rules", "explain", rules_file, str(tmp_path / "absent.json"))
    assert (unknown.returncode, unknown.stderr.strip()) == (1, f"error: no rule with id 'nope' in {rules_file}")
    assert bad_event.returncode == 1 and "not an event: unknown format" in bad_event.stderr
    assert missing.returncode == 2 and "no such file or directory" in missing.stderr


def test_explain_shows_window_contents_and_absence_deadline(tmp_path: Path) -> None:
    # GIVEN a window rule and an absence rule, and a failed sign-in
    (tmp_path / "rules.yaml").write_text(
        """\
rules:
  - id: burst
    when: {source: o365, types: ["AzureActiveDirectory/*"]}
    window: {aggregate: count, size: PT10M, op: ge, value: 2}
    action: {kind: journey_entry, event_definition_key: APIEvent-burst}
  - id: no-success
    absence:
      after: {condition: {field: attributes.result_status, op: eq, value: failed}}
      missing: {condition: {field: attributes.result_status, op: eq, value: succeeded}}
      within: PT5M
    action: {kind: journey_entry, event_definition_key: APIEvent-locked-out}
"""
    )
    # WHEN explained for a new entity
    result = squall("rules", "explain", str(tmp_path / "rules.yaml"), "-", stdin=first_failed_sign_in())
    # THEN the window shows its span, aggregate and threshold; the absence the deadline it arms
    assert result.returncode == 0, result.stderr
    assert (
        "window  count over sliding PT10M (2015-06-29T19:53:19Z, 2015-06-29T20:03:19Z] = 1; fires when ge 2: not met"
        in result.stdout
    )
    assert (
        "absence  this event is 'after'; armed by event 80c76bd2-9d81-4c57-a97a-accfc3443dca: "
        "fires at 2015-06-29T20:08:19Z unless a 'missing' event comes first" in result.stdout
    )
