"""`squall send` as a user runs it: a subprocess, real files and environment variables.

The dry run packs with the SDK's real EventDataBatch; the failure cases never reach a real hub
(malformed strings fail before any connection; a refused local port fails at connect time).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Runs the command through its own register(), so these tests do not depend on squall/cli.py wiring.
BOOTSTRAP = (
    "import sys, typer; from squall.commands import send_cmd; "
    "app = typer.Typer(pretty_exceptions_enable=False); send_cmd.register(app); "
    "app.command('version')(lambda: None); app(sys.argv[1:])"
)
FAKE_KEY = "fake-local-test-key-0000"


def _o365(record_id: str, user: str, *, padding: int = 0) -> str:
    return json.dumps(
        {
            "CreationTime": "2026-11-20T10:00:00",
            "Id": record_id,
            "Operation": "TeamsSessionStarted",
            "RecordType": 25,
            "UserId": user,
            "Workload": "MicrosoftTeams",
            "Pad": "x" * padding,
        }
    )


def _squall_send(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTHUB", "SQUALL_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, "send", *args],
        cwd=ROOT, env=environ, input=stdin, capture_output=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [_o365("1", "ann@contoso.com"), _o365("2", "bob@contoso.com"), "", _o365("3", "ann@contoso.com")]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_dry_run_json_plans_one_batch_per_entity(events_file: Path) -> None:
    # GIVEN three records of two users  WHEN `squall send --dry-run --json`
    result = _squall_send("--events", str(events_file), "--dry-run", "--json")
    # THEN exit 0 and the plan keys each batch by user, lines in order
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["events_read"], report["events_refused"], report["batches"], report["partition_keys"]) == (
        3,
        0,
        2,
        2,
    )
    assert [(row["partition_key"], row["locations"]) for row in report["plan"]] == [
        ("ann@contoso.com", ["line 1", "line 4"]),
        ("bob@contoso.com", ["line 2"]),
    ]


def test_dry_run_reads_stdin_and_prints_a_table(events_file: Path) -> None:
    # GIVEN the records on stdin  WHEN `squall send --events - --dry-run`
    result = _squall_send("--events", "-", "--dry-run", stdin=events_file.read_bytes())
    # THEN the human report names the batches and the totals
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "ann@contoso.com" in out and "planned 3 of 3 events in 2 batches for 2 partition keys" in out


def test_rate_caps_each_batch_at_one_second_of_events(events_file: Path) -> None:
    # GIVEN two records of ann  WHEN planned with --rate 1  THEN every batch holds a single event
    result = _squall_send("--events", str(events_file), "--dry-run", "--json", "--rate", "1")
    assert result.returncode == 0, result.stderr
    assert [row["events"] for row in json.loads(result.stdout)["plan"]] == [1, 1, 1]


def test_oversized_record_is_refused_with_its_line_number(tmp_path: Path) -> None:
    # GIVEN a 1.1 MB record on line 2 between two normal ones
    path = tmp_path / "big.jsonl"
    path.write_text(
        "\n".join([_o365("1", "ann"), _o365("2", "ann", padding=1_100_000), _o365("3", "bob")]) + "\n"
    )
    # WHEN planned
    result = _squall_send("--events", str(path), "--dry-run", "--json")
    # THEN line 2 is refused on stderr with its size, the others are planned, and the exit code says so
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert (
        "refused line 2: event is 1100" in stderr and "over the Event Hubs limit of 1048576 bytes" in stderr
    )
    report = json.loads(result.stdout)
    assert (report["events_read"], report["events_refused"], report["batches"]) == (3, 1, 2)


def test_record_over_max_batch_bytes_is_refused_with_its_line_number(tmp_path: Path) -> None:
    # GIVEN a 3 kB record  WHEN planned with --max-batch-bytes 2048
    path = tmp_path / "medium.jsonl"
    path.write_text(_o365("1", "ann", padding=3000) + "\n" + _o365("2", "ann") + "\n")
    result = _squall_send("--events", str(path), "--dry-run", "--max-batch-bytes", "2048")
    # THEN line 1 is refused naming the batch limit, line 2 is planned
    assert result.returncode == 1
    assert "refused line 1: event of" in result.stderr.decode()
    assert "does not fit in one batch of 2048 bytes" in result.stderr.decode()
    assert "planned 1 of 2 events" in result.stdout.decode()


NO_KEY = "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "$EVENTHUB_CONNECTION_STRING is not set"),
        (
            {"EVENTHUB_CONNECTION_STRING": "this is not one"},
            "bad connection string in $EVENTHUB_CONNECTION_STRING",
        ),
        (
            {"EVENTHUB_CONNECTION_STRING": NO_KEY},
            "bad connection string in $EVENTHUB_CONNECTION_STRING: needs",
        ),
    ],
)
def test_missing_or_bad_connection_string_is_one_line_exit_2(
    events_file: Path, env: dict, expected: str
) -> None:
    # GIVEN no usable connection string  WHEN sending
    result = _squall_send("--events", str(events_file), env=env)
    # THEN exit 2 with one line on stderr and no traceback
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith(f"error: {expected}") and stderr.count("\n") == 1 and "Traceback" not in stderr


def test_unreachable_hub_is_one_line_exit_1_without_the_key(events_file: Path) -> None:
    # GIVEN a well-formed connection string in a custom variable, pointing at a closed local port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cs = f"Endpoint=sb://127.0.0.1:{port}/;SharedAccessKeyName=send;SharedAccessKey={FAKE_KEY};EntityPath=hub"
    # WHEN sending with no retries
    result = _squall_send("--events", str(events_file), "--connection-string-env", "MY_CS", "--retries", "0",
                          env={"MY_CS": cs})  # fmt: skip
    # THEN exit 1, one line naming the failure, no traceback and no secret
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.startswith("error: sending to Event Hubs failed: ConnectError") and stderr.count("\n") == 1
    assert "Traceback" not in stderr and FAKE_KEY not in stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "give --events FILE (or - for stdin) or --synthetic N"),
        (("--events", "-", "--synthetic", "3"), "give --events FILE (or - for stdin) or --synthetic N"),
        (
            ("--events", "/nonexistent/events.jsonl", "--dry-run"),
            "cannot read events file /nonexistent/events.jsonl",
        ),
        (("--events", "-", "--source", "xml"), "--source must be one of"),
        (("--events", "-", "--json-field-map", "{oops"), "JSON field map is not valid JSON"),
        (("--events", "-", "--namespace", "n", "--connection-string-env", "X"), "not both"),
    ],
)
def test_bad_options_are_one_line_exit_2(args: tuple[str, ...], expected: str) -> None:
    # GIVEN a mistaken command line  WHEN run  THEN exit 2 and one clear line
    result = _squall_send(*args, stdin=b"")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert stderr.startswith("error: ") and expected in stderr and stderr.count("\n") == 1


def test_json_records_are_keyed_by_the_field_map_path(tmp_path: Path) -> None:
    # GIVEN plain JSON records and SQUALL_JSON_FIELD_MAP naming the entity path
    path = tmp_path / "plain.jsonl"
    path.write_text('{"user": {"id": "u-1"}, "n": 1}\n{"user": {"id": "u-2"}, "n": 2}\n{"n": 3}\n')
    env = {"SQUALL_JSON_FIELD_MAP": '{"id": "n", "entity": "user.id"}'}
    # WHEN planned
    result = _squall_send("--events", str(path), "--dry-run", "--json", env=env)
    # THEN the keys come from user.id and the record without it is refused by line
    report = json.loads(result.stdout)
    assert [row["partition_key"] for row in report["plan"]] == ["u-1", "u-2"]
    assert report["refusals"] == ["line 3: no entity key (json: user.id is missing)"]


def test_synthetic_dry_run_keys_every_record() -> None:
    pytest.importorskip("squall.synthetic", reason="the generator is written by another helper")
    # GIVEN 500 synthetic O365 records  WHEN planned
    result = _squall_send("--synthetic", "500", "--seed", "3", "--dry-run", "--json")
    # THEN all 500 are planned, none refused, grouped into fewer keys than records
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert (report["events_read"], report["events_refused"]) == (500, 0)
    assert sum(row["events"] for row in report["plan"]) == 500
    assert report["partition_keys"] < 500


def test_cli_app_registers_send() -> None:
    # GIVEN the real `squall` app  WHEN its commands are listed  THEN `send` is one of them
    from squall.cli import app

    assert "send" in {command.name for command in app.registered_commands}
