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
        "aad-failed-sign-in", "80c76bd2-9d81-4c57-a97a-accfc3443dca", "journey_entry", "sfmc"
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


STATEFUL_RULES = """\
rules:
  - id: sign-in-burst
    priority: 10
    when: {source: o365, types: ["AzureActiveDirectory/*"]}
    condition: {field: attributes.result_status, op: eq, value: failed}
    window: {aggregate: count, size: PT10M, op: ge, value: 2}
    rearm: true
    action: {kind: journey_entry, event_definition_key: APIEvent-signin-help}
  - id: locked-out
    absence:
      after: {types: ["AzureActiveDirectory/UserLoginFailed"]}
      missing: {types: ["AzureActiveDirectory/UserLoggedIn"]}
      within: PT30M
    action: {kind: journey_entry, event_definition_key: APIEvent-locked-out}
"""


def sign_in(record_id: str, minute: int, operation: str, status: str) -> str:
    record = {
        "Id": record_id,
        "CreationTime": f"2024-05-01T08:{minute:02d}:00",
        "Workload": "AzureActiveDirectory",
        "Operation": operation,
        "RecordType": 15,
        "ResultStatus": status,
        "UserId": "ada@contoso.com",
        "UserType": 0,
    }
    return json.dumps(record)


def test_stateful_rules_fire_on_the_virtual_clock_without_a_later_event(tmp_path: Path) -> None:
    # GIVEN a window (2 failures in 10 minutes) and an absence (a failure and no success within 30 minutes)
    (tmp_path / "rules.yaml").write_text(STATEFUL_RULES)
    events = [
        sign_in("f1", 0, "UserLoginFailed", "Failed"),
        sign_in("f2", 3, "UserLoginFailed", "Failed"),
        sign_in("f3", 5, "UserLoginFailed", "Failed"),
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(events) + "\n")
    # WHEN replayed on the event clock
    result = squall("rules", "test", str(tmp_path / "rules.yaml"), str(tmp_path / "events.jsonl"), "--json")
    # THEN the window fires once (re-arm) and the absence fires at its deadline, 30 minutes after f1
    assert result.returncode == 0, result.stderr
    fired = [(f["time"], f["rule_id"], f["event_id"], f["trigger"]) for f in json.loads(result.stdout)]
    assert fired == [
        ("2024-05-01T08:03:00Z", "sign-in-burst", "f2", "event"),
        ("2024-05-01T08:30:00Z", "locked-out", "f1", "deadline"),
    ]
    assert "ended 2024-05-01T08:35:00Z" in result.stderr


def test_summary_charts_firings_per_rule_per_day_with_the_shadow_variant_beside_the_live_rule() -> None:
    # GIVEN two days of failed sign-ins and the sample rules (the burst rule and its shadow variant)
    events = str(FIXTURES / "o365_failed_sign_ins.jsonl")
    # WHEN replayed with --summary
    result = squall("rules", "test", "rules", events, "--summary")
    # THEN one row per rule and day, with a bar per firing, and the shadow firings counted apart
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("failed-sign-in-")]
    assert rows == [
        ["failed-sign-in-burst", "live", "2021-05-12", "1", "█"],
        ["failed-sign-in-burst", "live", "2021-05-13", "1", "█"],
        ["failed-sign-in-pair", "shadow", "2021-05-12", "2", "██"],
        ["failed-sign-in-pair", "shadow", "2021-05-13", "1", "█"],
    ]
    assert "5 firings (3 shadow: recorded, not sent)" in result.stdout
    assert "no firings: copilot-first-use," in result.stdout


def test_summary_as_json_is_one_object_with_every_rule_and_its_days() -> None:
    result = squall("rules", "test", "rules", str(FIXTURES / "o365_failed_sign_ins.jsonl"), "--summary", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert (summary["events"], summary["firings"], summary["shadow_firings"]) == (10, 5, 3)
    rules = {rule["rule_id"]: rule for rule in summary["rules"]}
    assert rules["failed-sign-in-pair"] == {
        "rule_id": "failed-sign-in-pair", "mode": "shadow", "firings": 3,
        "by_day": {"2021-05-12": 2, "2021-05-13": 1},
    }  # fmt: skip
    assert rules["teams-champion"] == {"rule_id": "teams-champion", "mode": "live", "firings": 0, "by_day": {}}


def test_firings_show_the_rules_mode_and_the_journey_they_would_enter() -> None:
    events = str(FIXTURES / "o365_failed_sign_ins.jsonl")
    firings = json.loads(squall("rules", "test", "rules", events, "--json").stdout)
    assert [(f["rule_id"], f["mode"]) for f in firings][:2] == [
        ("failed-sign-in-pair", "shadow"), ("failed-sign-in-burst", "live")
    ]
    assert {f["payload"]["EventDefinitionKey"] for f in firings} == {"APIEvent-signin-help"}
    table = squall("rules", "test", "rules", events).stdout
    assert "(shadow)" in table and "-> sfmc (shadow: not sent): {" in table
    assert table.count('"EventDefinitionKey": "APIEvent-signin-help"') == 5  # the journey, in each payload line
