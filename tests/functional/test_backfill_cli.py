"""`squall backfill` as an operator runs it: real Capture files (Avro, Capture's schema and folder
layout) replayed as a dry run, through the local runtime, and from Blob storage (Azurite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.capture_files import Captured, capture_bytes, capture_name, write_capture

ROOT = Path(__file__).resolve().parents[2]
SQUALL = [sys.executable, "-m", "squall"]
DAY = datetime(2026, 3, 1, tzinfo=UTC)


def o365(user: str, at: datetime, *, operation: str = "CopilotInteraction") -> bytes:
    workload, record_type = ("Copilot", 261) if operation == "CopilotInteraction" else ("MicrosoftTeams", 25)
    record = {
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"), "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user}{at}")),
        "Operation": operation, "RecordType": record_type, "UserKey": f"key-{user}", "UserType": 0, "Version": 1,
        "Workload": workload, "UserId": f"{user}@contoso.com", "OrganizationId": "tenant-1",
    }  # fmt: skip
    return json.dumps(record).encode()


def message(body: bytes, at: datetime, sequence: int) -> Captured:
    """A message enqueued one second after its event time."""
    return Captured(body=body, enqueued=at + timedelta(seconds=1), sequence_number=sequence)


def capture_of_one_day(root: Path) -> None:
    """March 1st on two partitions, plus a file of the day before and an event enqueued after midnight."""
    at = DAY.replace(hour=9)
    write_capture(root, 0, at, [
        message(o365("alice", at + timedelta(seconds=10)), at + timedelta(seconds=10), 100),
        message(o365("bob", at + timedelta(minutes=1), operation="TeamsSessionStarted"), at + timedelta(minutes=1),
                101),
        message(b"{not json", at + timedelta(minutes=2), 102),
    ])  # fmt: skip
    later = at + timedelta(minutes=5)
    write_capture(root, 1, later, [
        message(o365("alice", later + timedelta(seconds=30)), later + timedelta(seconds=30), 7),  # cool-down
        message(o365("carol", later + timedelta(seconds=40)), later + timedelta(seconds=40), 8),
    ])  # fmt: skip
    write_capture(
        root,
        0,
        DAY - timedelta(days=1),
        [message(o365("dave", DAY - timedelta(hours=20)), DAY - timedelta(hours=20), 5)],
    )
    late = DAY.replace(hour=23, minute=55)
    write_capture(root, 1, late, [
        message(o365("erin", late + timedelta(minutes=3)), late + timedelta(minutes=3), 9),
        message(o365("frank", late + timedelta(minutes=10)), late + timedelta(minutes=10), 10),  # enqueued on the 2nd
    ])  # fmt: skip


def squall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("SQUALL_", "DEADLETTER"))}
    return subprocess.run([*SQUALL, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=clean | (env or {}))  # fmt: skip


def fired(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(firing["rule_id"], firing["entity"]) for firing in document["firings"]]


def test_dry_run_of_a_day_of_capture_reports_what_would_have_fired(tmp_path: Path, rules_dir: Path) -> None:
    # GIVEN a capture folder: March 1st on two partitions, a file of Feb 28th, one event enqueued on March 2nd
    capture_of_one_day(tmp_path / "capture")
    # WHEN March 1st is replayed as a dry run
    result = squall("backfill", "--capture", str(tmp_path / "capture"), "--since", "2026-03-01", "--until",
                    "2026-03-02", "--rules", str(rules_dir), "--test", "--json")  # fmt: skip
    # THEN what fired that day, in time order; alice once (cool-down); nothing of Feb 28th or March 2nd
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert fired(document) == [
        ("copilot-first-use", "alice@contoso.com"),
        ("teams-first-session", "bob@contoso.com"),
        ("copilot-first-use", "carol@contoso.com"),
        ("copilot-first-use", "erin@contoso.com"),
    ]
    assert document["capture"] == {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z", "files": 3,
                                   "events_read": 6}  # fmt: skip
    # AND the record that is not JSON is named by partition and sequence number, never by its payload
    assert document["rejected"] == 1
    assert "rejected: partition evhns-squall/usage-events/0 sequence 102: invalid JSON" in result.stderr


def test_dry_run_prints_the_capture_read_and_the_firings_table(tmp_path: Path, rules_dir: Path) -> None:
    capture_of_one_day(tmp_path / "capture")
    result = squall("backfill", "--capture", str(tmp_path / "capture"), "--since", "2026-03-01T09:00:00Z",
                    "--until", "2026-03-01T10:00:00Z", "--rules", str(rules_dir), "--test")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "capture: 5 events from 2 files enqueued 2026-03-01T09:00:00Z .. 2026-03-01T10:00:00Z"
    assert "carol@contoso.com" in result.stdout and "erin@contoso.com" not in result.stdout
    assert "4 events, 3 firings, 1 rejected" in result.stdout  # events: the records that normalized


def test_backfill_run_delivers_once_and_a_rerun_on_the_same_store_is_a_replay(tmp_path: Path, rules_dir: Path) -> None:
    # GIVEN a day of capture and a kept store
    capture_of_one_day(tmp_path / "capture")
    store = f"sqlite:{tmp_path / 'backfill.db'}"
    args = ["backfill", "--capture", str(tmp_path / "capture"), "--since", "2026-03-01", "--until", "2026-03-02",
            "--rules", str(rules_dir), "--store", store, "--push-rules", "--json"]  # fmt: skip
    # WHEN it runs through the local runtime (the Marketing Cloud stub)
    first = squall(*args)
    # THEN the four journeys are delivered and received, the bad record dead-lettered
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["events_in"], report["actions_delivered"], report["stub_received"]) == (6, 4, 4)
    assert report["dead_letter_reasons"] == {"invalid JSON": 1}
    assert report["matches_by_rule"] == {"copilot-first-use": 3, "teams-first-session": 1}
    # AND the same backfill again on the same store sends nothing twice (same partitions, same sequence numbers)
    again = json.loads(squall(*args).stdout)
    assert again["actions_delivered"] == 0 and again["stub_received"] == 0


def test_backfill_run_dead_letters_events_older_than_the_maximum_age_from_now(tmp_path: Path, rules_dir: Path) -> None:
    # GIVEN yesterday-evening and three-day-old Copilot use, each enqueued a second after it happened
    now = datetime.now(UTC).replace(microsecond=0)
    old, recent = now - timedelta(days=3), now - timedelta(hours=2)
    write_capture(tmp_path / "capture", 0, old, [message(o365("olga", old), old, 1)])
    write_capture(tmp_path / "capture", 0, recent, [message(o365("rita", recent), recent, 2)])
    # WHEN the last week is backfilled with SQUALL_MAX_EVENT_AGE=P1D
    result = squall("backfill", "--capture", str(tmp_path / "capture"), "--since", "P7D", "--rules", str(rules_dir),
                    "--json", env={"SQUALL_MAX_EVENT_AGE": "P1D"})  # fmt: skip
    # THEN only the recent event starts a journey; the old one is dead-lettered as stale, measured from now
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["actions_delivered"] == 1 and report["stub_received"] == 1
    assert report["dead_letter_reasons"] == {"event older than the maximum event age": 1}
    # AND --max-event-age overrides the setting: four days lets both through
    wider = squall("backfill", "--capture", str(tmp_path / "capture"), "--since", "P7D", "--rules", str(rules_dir),
                   "--json", "--max-event-age", "P4D", env={"SQUALL_MAX_EVENT_AGE": "P1D"})  # fmt: skip
    assert json.loads(wider.stdout)["actions_delivered"] == 2, wider.stderr


def test_backfill_reads_the_capture_container_in_blob_storage(tmp_path: Path, rules_dir: Path) -> None:
    # GIVEN the capture uploaded to a `capture` container of Azurite, as Capture lays it out
    from azure.storage.blob import BlobServiceClient

    from tests.contract.azurite_server import AzuriteMissing, start_local_azurite

    try:
        azurite = start_local_azurite(tmp_path)
    except AzuriteMissing as exc:
        pytest.fail(str(exc))
    try:
        local = tmp_path / "capture"
        capture_of_one_day(local)
        with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
            container = service.create_container("capture")
            for path in local.rglob("*.avro"):
                container.upload_blob(path.relative_to(local).as_posix(), path.read_bytes())
        # WHEN backfilled from the container named in the dead-letter account's settings
        result = squall("backfill", "--blob", "capture", "--since", "2026-03-01", "--until", "2026-03-02",
                        "--rules", str(rules_dir), "--test", "--json",
                        env={"DEADLETTER_CONNECTION_STRING": azurite.connection_string})  # fmt: skip
    finally:
        azurite.stop()
    # THEN the same firings as from the folder
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [entity for _, entity in fired(document)] == [
        "alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "erin@contoso.com"
    ]  # fmt: skip
    assert document["capture"]["files"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "P1D"], "give exactly one of --capture PATH or --blob CONTAINER"),
        (["--since", "yesterday", "--capture", "."], "--since 'yesterday': expected an ISO 8601 time"),
        (["--since", "2026-03-02", "--until", "2026-03-01", "--capture", "."], "is not before --until"),
        (["--since", "P1D", "--capture", "no/such/folder"], "--capture no/such/folder: no such folder"),
        (["--since", "P1D", "--blob", "capture"], "set DEADLETTER__blobServiceUri"),
        (["--since", "P1D", "--capture", ".", "--max-event-age", "old"], "--max-event-age 'old'"),
    ],
)
def test_a_mistake_gives_one_line_and_exit_code_2(args: list[str], message: str) -> None:
    result = squall("backfill", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_file_that_is_not_capture_avro_is_named_in_one_line(tmp_path: Path, rules_dir: Path) -> None:
    broken = tmp_path / "capture" / capture_name(0, DAY)
    broken.parent.mkdir(parents=True)
    broken.write_bytes(capture_bytes([message(o365("alice", DAY), DAY, 1)])[:40])
    result = squall("backfill", "--capture", str(tmp_path / "capture"), "--since", "2026-03-01", "--until",
                    "2026-03-02", "--rules", str(rules_dir), "--test")  # fmt: skip
    assert result.returncode == 1
    assert "not an Event Hubs Capture Avro file" in result.stderr and "00.avro" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_sample_capture_of_docs_history_fires_three_journeys_with_the_sample_rules() -> None:
    # GIVEN the committed sample capture (docs/history.md runs it) and the repository's rules
    result = squall("backfill", "--capture", "tests/fixtures/capture", "--since", "2026-03-01", "--until",
                    "2026-03-02", "--test", "--json")  # fmt: skip
    # THEN alice's Copilot start and two Teams firsts; alice's second Copilot use is inside the cool-down
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert fired(document) == [
        ("copilot-first-use", "alice@contoso.com"),
        ("teams-first-session", "bob@contoso.com"),
        ("teams-first-session", "alice@contoso.com"),
    ]
    assert document["capture"]["files"] == 3 and document["capture"]["events_read"] == 4
