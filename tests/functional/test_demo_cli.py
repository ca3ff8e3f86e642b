"""`squall demo` and `squall run` as a user runs them: subprocesses, JSON reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from squall.synthetic import generate_o365_records, most_active_user

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("journey_entry", "data_extension_row", "webhook", "eventbridge")
REPORT_FIELDS = {
    "events_in",
    "events_normalized",
    "events_dead_lettered",
    "rule_matches",
    "actions_planned",
    "actions_delivered",
    "actions_failed",
    "stub_received",
    "elapsed_s",
}


def squall(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "squall", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_reports_matches_delivered_to_the_stub() -> None:
    # WHEN the demo runs 3,000 synthetic records
    result = squall("demo", "--events", "3000", "--seed", "7", "--json")
    # THEN it exits 0 with one JSON object whose counts add up
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report.keys() >= REPORT_FIELDS
    assert report["events_in"] == 3000
    assert report["events_in"] == report["events_normalized"] + report["events_dead_lettered"]
    assert report["rule_matches"] > 0
    assert report["actions_planned"] == report["actions_delivered"] + report["actions_failed"]
    assert report["stub_received"] == report["actions_delivered"] > 0
    # AND every kind of action reached its receiver: journeys and rows (stub), webhook, EventBridge (moto)
    assert set(report["received_by_kind"]) == set(KINDS)
    assert all(count > 0 for count in report["received_by_kind"].values()), report["received_by_kind"]
    assert sum(report["received_by_kind"].values()) == report["actions_delivered"]
    # AND the run's own cost: wall and CPU seconds, and the rates they give (input generated beforehand)
    assert report["elapsed_s"] > 0 and report["cpu_s"] > 0
    assert report["events_per_s"] == pytest.approx(3000 / report["elapsed_s"], rel=0.01)  # the report rounds
    assert report["events_per_cpu_s"] == pytest.approx(3000 / report["cpu_s"], rel=0.01)
    # AND the shadow variant of the sign-in rule (rules/failed-sign-in-shadow.yaml) fired, counted
    # apart, and sent nothing: every delivered action is a live rule's
    assert report["shadow_matches_by_rule"].keys() == {"failed-sign-in-pair"}
    assert report["actions_shadowed"] == report["shadow_matches_by_rule"]["failed-sign-in-pair"] > 0
    assert report["rule_matches"] == report["actions_planned"] + report["actions_shadowed"]
    # AND the seed's most active user was suppressed, as after an opt-out: her events counted, not evaluated
    assert report["suppressed_entities"] == [most_active_user(7)]
    assert report["events_suppressed"] > 0


def test_demo_suppresses_the_entities_given_and_counts_exactly_their_events() -> None:
    # GIVEN two users of the seed's records
    records = list(generate_o365_records(500, seed=5))
    chosen = [records[0]["UserId"], records[1]["UserId"]]
    # WHEN the demo runs with both suppressed
    result = squall("demo", "--events", "500", "--seed", "5", "--json", "--no-eventbridge",
                    "--suppress", chosen[0], "--suppress", chosen[1])  # fmt: skip
    # THEN exactly their events are counted suppressed
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["suppressed_entities"] == chosen
    assert report["events_suppressed"] == sum(record["UserId"] in chosen for record in records)


def test_demo_without_eventbridge_leaves_those_rules_out_and_says_so() -> None:
    # WHEN the demo runs with --no-eventbridge
    result = squall("demo", "--events", "1000", "--seed", "7", "--json", "--no-eventbridge")
    # THEN the EventBridge rule is skipped (named), and the other kinds are delivered as before
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["skipped_rules"] == ["powerbi-viewer-to-eventbridge"]
    assert "powerbi-viewer-to-eventbridge" not in report["matches_by_rule"]
    assert "eventbridge" not in report["received_by_kind"]
    assert report["actions_planned"] == report["actions_delivered"] == report["stub_received"]


def test_demo_is_deterministic_for_a_seed() -> None:
    first = json.loads(squall("demo", "--events", "1000", "--seed", "3", "--json").stdout)
    second = json.loads(squall("demo", "--events", "1000", "--seed", "3", "--json").stdout)
    assert (first["rule_matches"], first["actions_delivered"]) == (
        second["rule_matches"],
        second["actions_delivered"],
    )


def test_run_reads_jsonl_with_arrays_and_dead_letters_bad_lines(tmp_path: Path) -> None:
    # GIVEN a JSONL file: one O365 record, an array of two, and a broken line
    record = {
        "CreationTime": "2026-11-20T10:00:00",
        "Id": "run-1",
        "Operation": "CopilotInteraction",
        "OrganizationId": "t-1",
        "RecordType": 261,
        "ResultStatus": "Succeeded",
        "UserKey": "k",
        "UserType": 0,
        "Workload": "Copilot",
        "UserId": "ann@contoso.com",
    }
    pair = [
        dict(record, Id="run-2", UserId="bob@contoso.com"),
        dict(record, Id="run-3", UserId="cat@contoso.com"),
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([json.dumps(record), json.dumps(pair), "{broken"]) + "\n")
    # WHEN squall run processes it with the sample rules
    result = squall("run", "--events", str(events), "--json")
    # THEN four inputs are counted: three normalized, one dead-lettered, first Copilot uses delivered
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["events_in"], report["events_normalized"], report["events_dead_lettered"]) == (4, 3, 1)
    assert report["actions_delivered"] == report["stub_received"] >= 3


def test_run_reads_stdin_and_refuses_a_missing_file() -> None:
    assert squall("run", "--events", "/nonexistent/events.jsonl").returncode == 2
    result = squall("run", "--events", "-", "--json", stdin="{broken\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events_dead_lettered"] == 1


def test_demo_under_injected_faults_loses_nothing_and_sends_nothing_twice() -> None:
    # GIVEN a stub failing 30% of requests, throttling 10% and expiring tokens every 2 s
    result = squall(
        "demo", "--events", "2000", "--seed", "11", "--json",
        "--stub-error-rate", "0.3", "--stub-throttle-rate", "0.1", "--stub-token-ttl", "2",
    )  # fmt: skip
    # THEN every planned action was delivered once or dead-lettered with a reason
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["actions_planned"] > 0
    assert report["actions_planned"] == report["actions_delivered"] + report["actions_dead_lettered"]
    assert report["stub_duplicates"] == 0
    assert report["stub_received"] == report["actions_delivered"]
    assert sum(report["dead_letter_reasons"].values()) == report["actions_dead_lettered"]
    # AND that holds for every kind: each reached its receiver through the faults
    assert set(report["received_by_kind"]) == set(KINDS)
    assert all(count > 0 for count in report["received_by_kind"].values()), report["received_by_kind"]


def test_run_with_a_kept_store_carries_entity_state_into_the_next_run(tmp_path: Path) -> None:
    # GIVEN one user's failed sign-ins: two in a first run, the third in a second run, same store
    def failed(minute: int) -> str:
        return json.dumps(
            {
                "CreationTime": f"2026-11-20T10:{minute:02d}:00", "Id": f"fail-{minute}",
                "Operation": "UserLoginFailed", "OrganizationId": "t-1", "RecordType": 15,
                "ResultStatus": "Failed", "UserKey": "k", "UserType": 0, "Workload": "AzureActiveDirectory",
                "UserId": "dee@contoso.com",
            }
        )  # fmt: skip

    store = f"sqlite:{tmp_path / 'kept.db'}"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(failed(0) + "\n" + failed(5) + "\n")
    second.write_text(failed(10) + "\n")
    # WHEN the two runs go through the pipeline one after the other (the first stores the rules)
    one = json.loads(squall("run", "--events", str(first), "--store", store, "--push-rules", "--json").stdout)
    two = json.loads(squall("run", "--events", str(second), "--store", store, "--json").stdout)
    # THEN the window counted across runs: the burst rule fires on the third failure
    assert one["matches_by_rule"].get("failed-sign-in-burst", 0) == 0
    assert two["matches_by_rule"].get("failed-sign-in-burst", 0) == 1


def synthetic_file(path: Path, count: int) -> Path:
    from squall.synthetic import generate_o365_records

    path.write_text("".join(json.dumps(record) + "\n" for record in generate_o365_records(count, seed=11)))
    return path


def test_rerunning_the_same_file_on_a_kept_store_is_a_replay_that_sends_nothing_new(tmp_path: Path) -> None:
    # GIVEN a file run once on a kept store, the rules pushed by that run
    events = synthetic_file(tmp_path / "events.jsonl", 1500)
    store = f"sqlite:{tmp_path / 'kept.db'}"
    first = squall("run", "--events", str(events), "--store", store, "--push-rules", "--json")
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["actions_delivered"] > 0
    # WHEN the same file runs again on the same store
    second = squall("run", "--events", str(events), "--store", store, "--push-rules", "--json")
    assert second.returncode == 0, second.stderr
    two = json.loads(second.stdout)
    # THEN every record is recognised: nothing is matched, planned or sent again, the counts add up
    assert (two["rule_matches"], two["actions_planned"], two["actions_delivered"]) == (0, 0, 0)
    assert two["actions_recovered"] == two["actions_pending"] == two["actions_uncertain"] == 0
    # AND pushing the unchanged rules again stored no new version
    listed = json.loads(squall("rules", "list", "--store", store, "--json").stdout)
    assert listed["version"] == 1


def test_a_kept_store_without_rules_is_refused_with_one_line_that_says_how_to_store_them(tmp_path: Path) -> None:
    events = synthetic_file(tmp_path / "events.jsonl", 10)
    result = squall("run", "--events", str(events), "--store", f"sqlite:{tmp_path / 'empty.db'}")
    assert result.returncode == 2
    assert "no rules to run" in result.stderr and "--push-rules" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_destination_settings_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    # GIVEN SQUALL_EVENTBRIDGE that is not JSON
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "e1", "type": "t", "time": "2026-11-20T10:00:00Z", "entity": "ann"}\n')
    env = {**os.environ, "SQUALL_EVENTBRIDGE": "[1"}
    # WHEN squall run starts
    result = subprocess.run(
        [sys.executable, "-m", "squall", "run", "--events", str(events), "--sfmc-url", "http://127.0.0.1:9"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # THEN it exits 2 with one line naming the setting
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("destination settings: SQUALL_EVENTBRIDGE is not valid JSON")


def test_demo_text_report_shows_shadow_firings_apart_from_matches() -> None:
    # WHEN the demo runs with the text report
    result = squall("demo", "--events", "3000", "--seed", "7")
    # THEN the shadow rule has its own line, saying nothing was sent; the live rules are "matched"
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if "failed-sign-in-pair" in line]
    assert line.split()[0] == "shadow" and line.endswith("(shadow rule: recorded, not sent)")
    lines = result.stdout.splitlines()
    assert any(line.split()[:1] == ["matched"] and line.endswith("failed-sign-in-burst") for line in lines)
