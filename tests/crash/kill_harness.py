"""Kill real processes at random moments and compare what Marketing Cloud received with a clean run.

A trial: `squall stub` runs as its own process (its ledger outlives every run); `squall run --events
F --store sqlite:DB --sfmc-url STUB` is started, SIGKILLed after a seeded random delay, and started
again on the same store and file, until a run completes. Its final report must add up, the outbox
must be empty, and the stub's ledger must hold exactly what a clean run sends — except duplicates of
requests that were in flight at a kill, which the next run reports as ``actions_uncertain``.

``python -m tests.crash.kill_harness --trials 30 --events 10000`` is the soak (``make soak``); the
test suite runs a few trials of the same code. The runs use the sample rules that enter journeys
(``journey_rules_dir``): the stub's journey ledger is what a trial compares, and one request carries
one journey entry (sync) or up to 100 (async) — rows, webhooks and EventBridge have their own tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[2]
SQUALL = [sys.executable, "-m", "squall"]
RULES_DIR = ROOT / "rules"
_JOURNEY_RULES: list[Path] = []
CLIENT_ID = "kill-harness"
CLIENT_SECRET = "kill-harness-not-a-secret"
RUN_TIMEOUT_S = 600.0
MAX_RUNS = 40


def write_events(path: Path, count: int, *, seed: int) -> Path:
    """``count`` seeded synthetic Office 365 records, one per line."""
    from squall.synthetic import generate_o365_records

    with path.open("wb") as out:
        for record in generate_o365_records(count, seed=seed):
            out.write(msgspec.json.encode(record) + b"\n")
    return path


# --- the stub as its own process ------------------------------------------------------------------


@dataclass
class StubProcess:
    process: subprocess.Popen[bytes]
    base_url: str

    def entries(self) -> list[dict[str, Any]]:
        """Every journey entry the stub accepted (sync entries and async batch members)."""
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            sync = client.get("/_stub/received").raise_for_status().json()
            batched = client.get("/_stub/received/async").raise_for_status().json()
        return [*sync, *batched]


@contextmanager
def running_stub(*extra: str) -> Iterator[StubProcess]:
    """``squall stub`` on a free port (``extra``: more of its options, e.g. ``--error-rate 1``)."""
    command = [*SQUALL, "stub", "--port", "0", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, *extra]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        banner = read_until(process, b"Ctrl+C stops.")
        match = re.search(r"SFMC_REST_BASE_URL=(\S+)", banner)
        if match is None:
            raise RuntimeError(f"no base URL in the stub's banner: {banner!r}")
        yield StubProcess(process, match.group(1))
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def read_until(process: subprocess.Popen[bytes], marker: bytes, timeout_s: float = 30.0) -> str:
    """What the process printed up to ``marker`` (a banner), read without blocking for ever."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    output = b""
    while marker not in output:
        if not selector.select(timeout=timeout_s):
            raise RuntimeError(f"`squall stub` printed no banner: {output!r}")
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            raise RuntimeError(f"`squall stub` exited early: {output!r}")
        output += chunk
    return output.decode()


# --- runs -----------------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    killed: bool
    exit_code: int | None
    seconds: float
    report: dict[str, Any] | None = None
    stderr: str = ""


def run_environment(stub: StubProcess, *, journey_mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUALL_", "SFMC_", "COSMOS_", "DEADLETTER"))}
    env.update(SFMC_CLIENT_ID=CLIENT_ID, SFMC_CLIENT_SECRET=CLIENT_SECRET, SFMC_JOURNEY_ENTRY_MODE=journey_mode)
    env.update(SFMC_AUTH_BASE_URL=stub.base_url, SFMC_REST_BASE_URL=stub.base_url, PYTHONPATH=str(ROOT))
    return env


def journey_rules_dir() -> Path:
    """The sample rules whose action enters a journey, as one JSON file in a temporary folder."""
    if not _JOURNEY_RULES:
        import tempfile

        from shared.rules import load_rule_files

        folder = Path(tempfile.mkdtemp(prefix="squall-kill-rules-"))
        rules = [rule for rule in load_rule_files(RULES_DIR) if rule.get("action", {}).get("kind") == "journey_entry"]
        (folder / "journeys.json").write_text(json.dumps(rules))
        _JOURNEY_RULES.append(folder)
    return _JOURNEY_RULES[0]


def push_rules(store: str, env: dict[str, str], rules_dir: Path | None = None) -> None:
    command = [*SQUALL, "rules", "push", str(rules_dir or journey_rules_dir()), "--store", store]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"squall rules push failed: {done.stderr.decode(errors='replace')}")


def run_process(command: list[str], env: dict[str, str], *, cwd: Path, kill_after_s: float | None) -> RunOutcome:
    """Run ``command``; SIGKILL it after ``kill_after_s`` unless it finished first."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S if kill_after_s is None else kill_after_s)
    except subprocess.TimeoutExpired:
        if kill_after_s is None:
            process.kill()
            process.communicate()
            raise RuntimeError(f"{command[3:5]} did not finish in {RUN_TIMEOUT_S} s") from None
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate()
        return RunOutcome(True, None, time.monotonic() - started, stderr=stderr.decode(errors="replace"))
    outcome = RunOutcome(False, process.returncode, time.monotonic() - started, stderr=stderr.decode(errors="replace"))
    lines = stdout.decode().strip().splitlines()
    if lines and lines[-1].startswith("{"):  # the report, also of a run that stopped early
        outcome.report = json.loads(lines[-1])
    return outcome


class SquallRunTarget:
    """`squall run --events F --store sqlite:DB --sfmc-url STUB`, its store a SQLite file."""

    name = "squall run (SQLite)"
    reports = True

    def __init__(self, events: Path, workdir: Path, label: str) -> None:
        self.events, self.db = events, workdir / f"{label}.db"
        for leftover in (self.db, *(self.db.with_name(self.db.name + end) for end in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)  # an earlier soak in the same --workdir: start on a fresh store
        self.db.with_suffix(".evidence.json").unlink(missing_ok=True)

    def prepare(self, stub: StubProcess, env: dict[str, str]) -> None:
        self.stub, self.env = stub, env
        push_rules(f"sqlite:{self.db}", env)

    def run(self, *, kill_after_s: float | None) -> RunOutcome:
        command = [*SQUALL, "run", "--events", str(self.events), "--store", f"sqlite:{self.db}"]
        return run_process([*command, "--sfmc-url", self.stub.base_url, "--json"], self.env, cwd=ROOT,
                           kill_after_s=kill_after_s)  # fmt: skip

    def in_flight(self) -> set[str]:
        """Action keys a killed run had marked in flight without recording the outcome."""
        query = "SELECT key FROM outbox_entries WHERE sending_at IS NOT NULL AND done_at IS NULL"
        return {row[0] for row in _rows(self.db, query)}

    def outbox_left(self) -> int:
        return len(_rows(self.db, "SELECT key FROM outbox_entries WHERE done_at IS NULL"))

    def evidence(self, data: dict[str, Any]) -> None:
        self.db.with_suffix(".evidence.json").write_text(json.dumps(data, indent=1, default=str))


class CosmosHandlerTarget:
    """The Function's Event Hubs handler in its own process (``handler_process.py``: checkpoints
    after each batch, like the host) on the Cosmos DB protocol server."""

    name = "Function handler (Cosmos DB)"
    reports = False

    def __init__(self, events: Path, workdir: Path, label: str, *, endpoint: str, key: str) -> None:
        self.events, self.workdir = events, workdir / label
        shutil.rmtree(self.workdir, ignore_errors=True)  # an earlier soak's checkpoints would skip events
        self.workdir.mkdir(parents=True)
        self.database = f"kill-{label}-{os.getpid()}"
        self.endpoint, self.key = endpoint, key

    def prepare(self, stub: StubProcess, env: dict[str, str]) -> None:
        self.env = env | {
            "SQUALL_STORE": "cosmos", "COSMOS_ENDPOINT": self.endpoint, "COSMOS_KEY": self.key,
            "COSMOS_DATABASE": self.database, "COSMOS_CREATE_CONTAINERS": "true",
        }  # fmt: skip
        push_rules("cosmos", self.env)

    def run(self, *, kill_after_s: float | None) -> RunOutcome:
        command = [sys.executable, "-m", "tests.crash.handler_process", str(self.events), "checkpoints.json"]
        return run_process(command, self.env, cwd=self.workdir, kill_after_s=kill_after_s)

    def _keys(self, container: str, query: str) -> list[Any]:
        import urllib3
        from azure.cosmos import CosmosClient

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the local server's own certificate
        client = CosmosClient(self.endpoint, credential=self.key, connection_verify=False)
        proxy = client.get_database_client(self.database).get_container_client(container)
        return list(proxy.query_items(query, enable_cross_partition_query=True))

    def _pending(self) -> list[dict[str, Any]]:
        docs = self._keys("outbox", "SELECT VALUE c.entries FROM c WHERE c.status = 'pending'")
        return [entry for entries in docs for entry in entries]

    def in_flight(self) -> set[str]:
        return {entry["key"] for entry in self._pending() if entry.get("sending_at")}

    def outbox_left(self) -> int:
        return len(self._pending())

    def evidence(self, data: dict[str, Any]) -> None:
        (self.workdir / "evidence.json").write_text(json.dumps(data, indent=1, default=str))


def entry_identity(entry: dict[str, Any]) -> str:
    """What makes two journey entries the same entry, whatever key or request carried them (a sync
    entry spells its fields ``ContactKey``…, an async batch member ``contactKey``…)."""
    return json.dumps(
        {
            "contact": entry.get("ContactKey", entry.get("contactKey")),
            "journey": entry.get("EventDefinitionKey", entry.get("eventDefinitionKey")),
            "data": entry.get("Data", entry.get("data")),
        },
        sort_keys=True,
    )


def _rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        table = query.split(" FROM ", 1)[1].split()[0]
        return connection.execute(query).fetchall() if table in tables else []
    finally:
        connection.close()


# --- trials ---------------------------------------------------------------------------------------


@dataclass
class TrialResult:
    seed: int
    journey_mode: str
    kills: int = 0
    runs: int = 0
    missing: int = 0
    unexpected: int = 0
    duplicates: int = 0
    duplicates_not_in_flight: int = 0
    in_flight_at_kills: int = 0
    max_in_flight: int = 0
    uncertain_reported: int = 0
    invariant_failures: list[str] = field(default_factory=list)
    outbox_left: int = 0
    failed_runs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.missing == 0
            and self.unexpected == 0
            and self.duplicates_not_in_flight == 0
            and not self.invariant_failures
            and self.outbox_left == 0
            and not self.failed_runs
        )


def invariant_problems(report: dict[str, Any]) -> list[str]:
    """The report's counts must add up (README, "Delivery": the invariant of every report)."""
    taken = report["actions_planned"] + report["actions_recovered"]
    settled = (
        report["actions_delivered"] + report["actions_failed"]
        + report["actions_skipped_duplicate"] + report["actions_pending"]
    )  # fmt: skip
    if taken == settled:
        return []
    return [
        f"planned {report['actions_planned']} + recovered {report['actions_recovered']} != delivered "
        f"{report['actions_delivered']} + failed {report['actions_failed']} + skipped "
        f"{report['actions_skipped_duplicate']} + pending {report['actions_pending']}"
    ]


Factory = Callable[[str], "SquallRunTarget | CosmosHandlerTarget"]


def reference_entries(make_target: Factory, *, journey_mode: str) -> tuple[Counter[str], float]:
    """What an uninterrupted run sends (the ledger to compare every trial with), and its seconds."""
    with running_stub() as stub:
        target = make_target(f"clean-{journey_mode}")
        target.prepare(stub, run_environment(stub, journey_mode=journey_mode))
        outcome = target.run(kill_after_s=None)
        if outcome.exit_code != 0:
            raise RuntimeError(f"the clean run failed: {outcome.stderr[-2000:]}")
        return Counter(entry_identity(e) for e in stub.entries()), outcome.seconds


def kill_trial(
    seed: int,
    make_target: Factory,
    expected: Counter[str],
    *,
    journey_mode: str,
    clean_seconds: float,
    max_kills: int = 3,
    kill_window: tuple[float, float] = (0.05, 1.0),
) -> TrialResult:
    """Kill the target up to ``max_kills`` times at seeded random moments, then let it finish. A trial
    whose first run finished before its first kill (a faster run than the clean one) starts over on a
    fresh store with its kill moments halved, up to three times."""
    window = kill_window
    for attempt in range(3):
        result = _kill_trial(seed, make_target, expected, journey_mode=journey_mode, clean_seconds=clean_seconds,
                             max_kills=max_kills, kill_window=window, label=f"trial-{journey_mode}-{seed}-{attempt}")
        if result.kills:
            return result
        window = (window[0] / 2, window[1] / 2)
    return result


def _kill_trial(
    seed: int,
    make_target: Factory,
    expected: Counter[str],
    *,
    journey_mode: str,
    clean_seconds: float,
    max_kills: int,
    kill_window: tuple[float, float],
    label: str,
) -> TrialResult:
    rng = random.Random(seed)
    result = TrialResult(seed=seed, journey_mode=journey_mode)
    with running_stub() as stub:
        target = make_target(label)
        target.prepare(stub, run_environment(stub, journey_mode=journey_mode))
        kills_planned = rng.randint(1, max_kills)
        flying: set[str] = set()
        kills_at: list[str] = []
        while result.runs < MAX_RUNS:
            kill_after = rng.uniform(*kill_window) * clean_seconds if result.kills < kills_planned else None
            outcome = target.run(kill_after_s=kill_after)
            result.runs += 1
            if outcome.killed:
                result.kills += 1
                kills_at.append(datetime.now(UTC).isoformat())
                at_kill = target.in_flight()
                result.in_flight_at_kills += len(at_kill)
                result.max_in_flight = max(result.max_in_flight, len(at_kill))
                flying |= at_kill
                continue
            if outcome.exit_code != 0:
                result.failed_runs.append(f"exit {outcome.exit_code}: {outcome.stderr[-500:]}")
            elif target.reports and outcome.report is None:
                result.failed_runs.append("no report")
            elif outcome.report is not None:
                result.invariant_failures += invariant_problems(outcome.report)
                result.uncertain_reported += outcome.report.get("actions_uncertain", 0)
            break
        entries = stub.entries()
    received = Counter(entry_identity(e) for e in entries)
    by_key = Counter(e.get("idempotency_key") for e in entries)
    result.duplicates_not_in_flight = sum(n - 1 for key, n in by_key.items() if n > 1 and key not in flying)
    result.outbox_left = target.outbox_left()
    result.missing = sum((expected - received).values())
    surplus = received - expected
    result.unexpected = sum(count for key, count in surplus.items() if key not in expected)
    result.duplicates = sum(count for key, count in surplus.items() if key in expected)
    if not result.ok:  # keep the evidence: duplicated keys' receipts, extra entries, when runs were killed
        doubled = {key for key, n in by_key.items() if n > 1 and key not in flying}
        extra = {key for key in surplus if key not in expected}
        evidence = {
            "kills_at": kills_at,
            "doubled": [e for e in entries if e.get("idempotency_key") in doubled],
            "unexpected": [e for e in entries if entry_identity(e) in extra],
            "missing": list((expected - received).elements()),
        }
        target.evidence(evidence)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--journey-mode", choices=["sync", "async", "both"], default="both")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".squall" / "soak")
    parser.add_argument("--kill-window", type=float, nargs=2, default=(0.05, 1.0), metavar=("FROM", "TO"),
                        help="kill between these fractions of the clean run's duration")  # fmt: skip
    parser.add_argument(
        "--target",
        choices=["run", "handler"],
        default="run",
        help="squall run on SQLite, or the Function handler on the Cosmos DB protocol server",
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    events = write_events(args.workdir / "events.jsonl", args.events, seed=args.seed)
    modes = ["sync", "async"] if args.journey_mode == "both" else [args.journey_mode]
    results: list[TrialResult] = []
    with ExitStack() as stack:
        if args.target == "handler":
            from tests.contract.cosmos_server import start_local_cosmos_server

            server = start_local_cosmos_server()
            stack.callback(server.stop)

            def make_target(label: str) -> SquallRunTarget | CosmosHandlerTarget:
                return CosmosHandlerTarget(events, args.workdir, label, endpoint=server.endpoint, key=server.key)
        else:

            def make_target(label: str) -> SquallRunTarget | CosmosHandlerTarget:
                return SquallRunTarget(events, args.workdir, label)

        for mode in modes:
            expected, clean_seconds = reference_entries(make_target, journey_mode=mode)
            print(f"{mode}: clean run sends {sum(expected.values())} entries in {clean_seconds:.1f} s", flush=True)
            for trial in range(args.trials):
                result = kill_trial(
                    args.seed * 1000 + trial, make_target, expected, journey_mode=mode, clean_seconds=clean_seconds,
                    kill_window=tuple(args.kill_window),
                )  # fmt: skip
                results.append(result)
                print(json.dumps(asdict(result) | {"ok": result.ok}), flush=True)
    summary = {
        "trials": len(results),
        "ok": sum(r.ok for r in results),
        "kills": sum(r.kills for r in results),
        "missing": sum(r.missing for r in results),
        "unexpected": sum(r.unexpected for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "duplicates_not_in_flight": sum(r.duplicates_not_in_flight for r in results),
        "in_flight_at_kills": sum(r.in_flight_at_kills for r in results),
        "max_in_flight": max((r.max_in_flight for r in results), default=0),
        "uncertain_reported": sum(r.uncertain_reported for r in results),
        "invariant_failures": sum(len(r.invariant_failures) for r in results),
        "outbox_left": sum(r.outbox_left for r in results),
    }
    print(json.dumps(summary))
    return 0 if summary["ok"] == summary["trials"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
