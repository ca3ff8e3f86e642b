"""The common user mistakes, each run as a user runs it: one line on stderr saying what to fix, exit
code 2 (the command cannot start: usage, a setting, a file) or 1 (it ran and failed), no traceback.

Each case names the command, the environment it runs in and the words its one line must hold.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENT = (
    b'{"Id":"e-1","CreationTime":"2024-05-01T08:00:00","Workload":"MicrosoftTeams",'
    b'"Operation":"TeamsSessionStarted","UserId":"alice@contoso.com","OrganizationId":"org-1"}\n'
)


@dataclass(frozen=True)
class Mistake:
    """``command``: the arguments after ``squall`` (``{events}`` and the like: the ``files`` fixture's)."""

    command: str
    code: int
    says: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def mistake(command: str, code: int, *says: str, **env: str) -> Mistake:
    return Mistake(command, code, says, env)


MISTAKES = {
    # files and folders
    "missing rules folder": mistake("run --events {events} --rules no-such-rules", 2, "--rules", "no-such-rules"),
    "rules path is a file without rules": mistake("run --events {events} --rules {empty}", 1, "holds no rules"),
    "rules folder without rule files": mistake("rules validate {dir}", 1, "holds no rules"),
    "validate a missing path": mistake("rules validate no-such-rules", 2, "no-such-rules", "no such file"),
    "missing events file": mistake("run --events no-such.jsonl", 2, "no-such.jsonl"),
    "events path is a folder": mistake("run --events {dir}", 2, "a directory"),
    "normalize a folder": mistake("normalize {dir}", 2, "cannot read"),
    "dry-run a folder": mistake("rules test {rules} {dir}", 2, "cannot read"),
    "explain a malformed event": mistake("rules explain {rules} {broken}", 1, "not an event", "invalid JSON"),
    "explain with a malformed state": mistake("rules explain {rules} {events} --state {broken}", 1, "JSON state"),
    "send a missing file": mistake("send --events no-such.jsonl --dry-run", 2, "no-such.jsonl"),
    "dead letters of a missing store": mistake("deadletter list --store sqlite:no-such.db", 1, "no SQLite store"),
    # Marketing Cloud
    "missing SFMC settings for run": mistake(
        "run --events {events} --sfmc-url http://127.0.0.1:9", 2, "SFMC_CLIENT_ID", "SFMC_CLIENT_SECRET"
    ),
    "missing SFMC settings for replay": mistake(
        "deadletter replay --all --store {letters} --sfmc-url http://127.0.0.1:9", 2, "SFMC_CLIENT_ID"
    ),
    "auth URL without REST URL": mistake(
        "run --events {events} --sfmc-auth-url https://x.auth.example", 2, "--sfmc-rest-url"
    ),
    "SFMC URL that is not a URL": mistake(
        "run --events {events} --sfmc-url tenant.example", 2, "--sfmc-url", "http(s)"
    ),
    "REST URL that is not a URL": mistake(
        "deadletter replay --all --store {letters} --sfmc-url http://127.0.0.1:9 --sfmc-rest-url rest.example",
        2,
        "--sfmc-rest-url",
    ),
    # stores and settings
    "unknown --store for run": mistake("run --events {events} --store cosmos:x", 2, "--store", "sqlite:PATH"),
    "unknown store setting": mistake("rules list", 2, "SQUALL_STORE", "sqlite:PATH", SQUALL_STORE="postgres"),
    "Cosmos without an endpoint": mistake("rules list --store cosmos", 2, "COSMOS_ENDPOINT"),
    "bad Cosmos endpoint setting": mistake(
        "rules list --store cosmos", 2, "COSMOS_ENDPOINT", COSMOS_ENDPOINT="mycosmos.documents.azure.com"
    ),
    "bad Cosmos key setting": mistake(
        "rules list --store cosmos", 2, "COSMOS_KEY", COSMOS_ENDPOINT="https://localhost:9/", COSMOS_KEY="not a key"
    ),
    "invalid duration setting": mistake(
        "run --events {events}", 2, "SQUALL_MAX_CLOCK_SKEW", SQUALL_MAX_CLOCK_SKEW="five minutes"
    ),
    "invalid format setting": mistake("rules validate {rules}", 2, "SQUALL_EVENT_FORMAT", SQUALL_EVENT_FORMAT="xml"),
    "malformed field map setting": mistake(
        "run --events {events}", 2, "SQUALL_JSON_FIELD_MAP", SQUALL_JSON_FIELD_MAP="{user: id}"
    ),
    "malformed webhook setting": mistake("rules validate {rules}", 1, "SQUALL_WEBHOOKS", SQUALL_WEBHOOKS="{crm"),
    "send without a connection": mistake("send --events {events}", 2, "EVENTHUB_CONNECTION_STRING", "--namespace"),
    # options
    "malformed --json-field-map": mistake(
        "rules test {rules} {events} --json-field-map '{id: x}'", 2, "--json-field-map"
    ),
    "incomplete --json-field-map": mistake(
        """normalize {events} --json-field-map '{"id": "x"}'""", 2, "--json-field-map", "type, time, entity"
    ),
    "unknown --source": mistake("run --events {events} --source xml", 2, "--source"),
    "unknown --clock": mistake("rules test {rules} {events} --clock later", 2, "--clock"),
    "missing argument": mistake("rules test {rules}", 2, "EVENTS", "squall rules test --help"),
    "missing option": mistake("run", 2, "--events"),
    "unknown option": mistake("rules validate {rules} --verbose", 2, "--verbose"),
    "unknown command": mistake("rules check {rules}", 2, "check"),
    "out-of-range number": mistake("bench --events 0", 2, "--events"),
    "bad --since time": mistake("backfill --capture {dir} --since yesterday --test", 2, "--since", "ISO 8601"),
    "--since after --until": mistake("backfill --capture {dir} --since 2026-03-02 --until 2026-03-01", 2, "--until"),
    "missing capture folder": mistake("backfill --capture no-such-capture --since P1D --test", 2, "no-such-capture"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("mistakes")
    (folder / "events.jsonl").write_bytes(EVENT)
    (folder / "empty.yaml").write_bytes(b"")
    (folder / "broken.json").write_bytes(b'{"Id": ')
    (folder / "dir").mkdir()
    letters = folder / "letters.db"
    made = _squall(("run", "--events", str(folder / "broken.json"), "--store", f"sqlite:{letters}", "--push-rules"),
                   cwd=folder, env={})  # fmt: skip
    assert made.returncode == 0, made.stderr  # one event letter: the broken line
    names = {"events": "events.jsonl", "empty": "empty.yaml", "broken": "broken.json", "dir": "dir"}
    paths = {key: str(folder / name) for key, name in names.items()}
    return {"cwd": str(folder), "rules": str(ROOT / "rules"), "letters": f"sqlite:{letters}", **paths}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_a_mistake_is_one_line_saying_what_to_fix_never_a_traceback(name: str, files: dict[str, str]) -> None:
    # GIVEN a common mistake
    case = MISTAKES[name]
    args = tuple(files.get(arg[1:-1], arg) if arg.startswith("{") else arg for arg in shlex.split(case.command))
    # WHEN a user runs it
    result = _squall(args, cwd=Path(files["cwd"]), env=case.env)
    # THEN the exit code says usage (2) or failure (1), and stderr is one line naming what to fix
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.code, result.stderr
    assert len(lines) == 1, result.stderr
    for words in case.says:
        assert words in lines[0], lines[0]


def _squall(args: tuple[str, ...], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SQUALL_", "SFMC_", "COSMOS_", "EVENTHUB"))}
    clean["SQUALL_STORE"] = f"sqlite:{cwd / 'default.db'}"
    return subprocess.run(
        [sys.executable, "-m", "squall", *args], cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=120
    )
