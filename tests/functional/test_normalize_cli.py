"""``squall normalize`` as a user runs it: a real subprocess, JSONL in, JSONL out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures import fixture_path, jsonl_lines

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_normalize(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "squall", "normalize", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )


def json_lines(output: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_normalize_file_writes_one_canonical_event_per_record_with_utc_times() -> None:
    # GIVEN the Microsoft docs O365 fixture file
    # WHEN normalized from the file argument
    completed = run_normalize(str(fixture_path("o365_microsoft_docs.jsonl")))
    # THEN exit 0, six events on stdout, nothing on stderr, times as ISO 8601 UTC with Z
    assert completed.returncode == 0, completed.stderr
    events = json_lines(completed.stdout)
    assert len(events) == 6
    assert (events[0]["id"], events[0]["type"], events[0]["time"], events[0]["entity"]) == (
        "80c76bd2-9d81-4c57-a97a-accfc3443dca",
        "AzureActiveDirectory/PasswordLogonInitialAuthUsingPassword",
        "2015-06-29T20:03:19Z",
        "admin@contoso.onmicrosoft.com",
    )
    assert events[0]["attributes"]["result_status"] == "failed"  # type: ignore[index]
    assert completed.stderr == b""


def test_normalize_stdin_reports_rejections_on_stderr_with_line_and_index() -> None:
    # GIVEN stdin with a good record, a blank line, broken JSON and an array with one bad item
    good = jsonl_lines("o365_recreated.jsonl")[0]
    stdin = b"\n".join([good, b"", b'{"Id": ', b"[" + good + b', {"name": "x"}]']) + b"\n"
    # WHEN normalized from stdin
    completed = run_normalize("-", stdin=stdin)
    # THEN good records are events; each rejection names its line, index and reason; exit is still 0
    assert completed.returncode == 0
    assert [event["id"] for event in json_lines(completed.stdout)] == [
        "5e0b7c21-94fd-4a3e-8b61-d2c7f9a04e3b",
        "5e0b7c21-94fd-4a3e-8b61-d2c7f9a04e3b",
    ]
    rejections = json_lines(completed.stderr)
    assert [(r["line"], r["index"]) for r in rejections] == [(3, None), (4, 1)]
    assert rejections[0]["reason"] == "invalid JSON: input ends before the value is complete"
    assert str(rejections[1]["reason"]).startswith("unknown format:")


def test_normalize_plain_json_with_field_map_option() -> None:
    field_map = '{"id":"eventId","type":"name","time":"ts","entity":"user.id"}'
    stdin = b'{"eventId":"e1","name":"signup","ts":1709287200,"user":{"id":"u1"},"plan":"pro"}\n'
    completed = run_normalize("--source", "json", "--json-field-map", field_map, stdin=stdin)
    assert completed.returncode == 0, completed.stderr
    (event,) = json_lines(completed.stdout)
    assert (event["id"], event["source"], event["type"], event["time"], event["entity"]) == (
        "e1",
        "json",
        "signup",
        "2024-03-01T10:00:00Z",
        "u1",
    )
    assert event["attributes"] == {"user": {"id": "u1"}, "plan": "pro"}


def test_normalize_missing_file_exits_2_with_clear_message() -> None:
    completed = run_normalize("does-not-exist.jsonl")
    assert completed.returncode == 2
    assert b"cannot read does-not-exist.jsonl: No such file or directory" in completed.stderr
    assert b"Traceback" not in completed.stderr


def test_normalize_rejects_unknown_source_as_usage_error() -> None:
    completed = run_normalize("--source", "xml", stdin=b"")
    assert completed.returncode == 2
    assert b"source must be one of" in completed.stderr
