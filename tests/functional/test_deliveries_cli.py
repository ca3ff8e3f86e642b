"""`squall deliveries list` as an operator runs it: "did alice enter APIEvent-signin-help, and when?"

A real `squall run` (the local stub over HTTP, a kept SQLite store, the sample rules with their
shadow variant) fills the audit; `deliveries list` answers from it. Mistakes give one line, exit 2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.log_fields import entity_hash

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "fixtures" / "o365_failed_sign_ins.jsonl"
SQUALL = [sys.executable, "-m", "squall"]
ALICE = "alice@nwlab.onmicrosoft.com"


def squall(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SQUALL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Failed sign-ins of alice and tomas over two days, run through the sample rules into a kept store."""
    path = tmp_path_factory.mktemp("deliveries") / "squall.db"
    result = squall("run", "--events", str(EVENTS), "--store", f"sqlite:{path}", "--push-rules", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["actions_delivered"], report["actions_shadowed"]) == (2, 3)
    return path


def test_the_audit_answers_whether_alice_entered_the_journey_and_when(store: Path) -> None:
    started = datetime.now(UTC) - timedelta(minutes=10)
    # WHEN the operator asks by alice's key, the rule and a start time
    result = squall(
        "deliveries", "list", "--entity", ALICE, "--rule", "failed-sign-in-burst", "--since", "1d",
        "--store", f"sqlite:{store}", "--json",
    )  # fmt: skip
    # THEN one record: delivered to the journey once, with when, the key and the attempts — her key never shown
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["count"] == 1
    [record] = answer["deliveries"]
    assert {k: record[k] for k in ("outcome", "rule_id", "entity", "kind", "destination", "attempts")} == {
        "outcome": "delivered", "rule_id": "failed-sign-in-burst", "entity": entity_hash(ALICE),
        "kind": "journey_entry", "destination": "sfmc", "attempts": 1,
    }  # fmt: skip
    assert started <= datetime.fromisoformat(record["time"]) <= datetime.now(UTC)
    assert ALICE not in result.stdout


def test_the_table_lists_shadow_firings_and_counts_them(store: Path) -> None:
    # WHEN the shadow records are listed as a table (the store given as a plain path)
    result = squall("deliveries", "list", "--outcome", "shadow", "--store", str(store))
    # THEN a header, the shadow variant's three would-be journey entries, and the count
    assert result.returncode == 0, result.stderr
    header, *rows, total = result.stdout.splitlines()
    assert header.split() == ["time", "outcome", "rule", "entity", "action", "key", "attempts"]
    assert len(rows) == 3 and all(" shadow " in row and "failed-sign-in-pair" in row for row in rows)
    assert total == "3 records"


def test_nothing_matching_is_an_answer_not_an_error(store: Path) -> None:
    result = squall("deliveries", "list", "--entity", "nobody@x.example", "--store", f"sqlite:{store}")
    assert (result.returncode, result.stdout) == (0, "no delivery records match\n")


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("list", ["--store", "sqlite:/nonexistent/squall.db"], "no SQLite store at '/nonexistent/squall.db'"),
        ("list", ["--store", "cosmos"], "with Cosmos DB the audit is in Application Insights"),
        ("list", ["--since", "last tuesday", "--store", "memory"], "--since 'last tuesday': expected an ISO 8601 time"),
        ("list", ["--since", "999999999d", "--store", "memory"], "--since '999999999d': that is before the year 1"),
        ("purge", [], "Missing option '--before'"),
        ("purge", ["--before", "last tuesday", "--store", "memory"], "--before 'last tuesday': expected an ISO"),
        ("purge", ["--before", "P1Y"], "--before 'P1Y': expected an ISO 8601 time"),
        ("purge", ["--before", "999999999d"], "--before '999999999d': that is before the year 1"),
        ("purge", ["--before", "30d", "--store", "cosmos"], "with Cosmos DB the audit is in Application Insights"),
        ("purge", ["--before", "30d", "--store", "sqlite:/nonexistent/squall.db"], "no SQLite store at"),
    ],
)
def test_mistakes_give_one_line_and_exit_2(tmp_path: Path, command: str, args: list[str], message: str) -> None:
    result = squall("deliveries", command, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_purge_deletes_only_the_records_settled_before_the_time_given(store: Path, tmp_path: Path) -> None:
    # GIVEN a copy of the filled store: 2 deliveries and 3 shadow records, all settled minutes ago
    copy = tmp_path / "squall.db"
    shutil.copy(store, copy)
    spec = f"sqlite:{copy}"
    # WHEN records older than a day are purged, as a retention job does
    old = squall("deliveries", "purge", "--before", "1d", "--store", spec, "--json")
    # THEN none of them is old enough: the answer is one JSON object, nothing deleted
    assert old.returncode == 0, old.stderr
    answer = json.loads(old.stdout)
    assert answer["deleted"] == 0
    assert datetime.fromisoformat(answer["before"]) < datetime.now(UTC) - timedelta(hours=23)
    # WHEN everything settled before a minute from now is purged (an ISO time without offset is UTC)
    soon = (datetime.now(UTC) + timedelta(minutes=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    purged = squall("deliveries", "purge", "--before", soon, "--store", spec)
    # THEN all five go, and the audit is empty
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout == f"deleted 5 delivery records from before {soon}Z\n"
    assert squall("deliveries", "list", "--store", spec).stdout == "no delivery records match\n"
