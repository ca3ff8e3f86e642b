"""`squall deadletter replay` SIGKILLed mid-way and rerun: no letter lost, duplicates only among the
requests in flight at the kill (at most the deliverer's concurrency, docs/deadletters.md).

The stub runs as its own process (its ledger outlives every replay) and answers each request after a
delay, so a replay of 120 action letters takes long enough to be killed in the middle.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from shared.actions.sfmc.config import MarketingCloudConfig
from shared.store.models import DeadLetter
from shared.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
SQUALL = [sys.executable, "-m", "squall"]
CLIENT_ID, CLIENT_SECRET = "replay-kill", "replay-kill-not-a-secret"
LETTERS = 120
IN_FLIGHT_BOUND = MarketingCloudConfig.model_fields["max_concurrency"].default  # 16


@contextmanager
def stub_process(*, latency_ms: int) -> Iterator[str]:
    """`squall stub` as its own process; yields its base URL."""
    command = [
        *SQUALL, "stub", "--port", "0", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
        "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        banner = b""
        while b"Ctrl+C stops." not in banner:
            assert selector.select(timeout=30), f"`squall stub` printed no banner: {banner!r}"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"`squall stub` exited early: {banner!r}"
            banner += chunk
        match = re.search(r"SFMC_REST_BASE_URL=(\S+)", banner.decode())
        assert match is not None, banner
        yield match.group(1)
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def received_contacts(base_url: str) -> Counter[str]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        entries = client.get("/_stub/received").raise_for_status().json()
    return Counter(entry["ContactKey"] for entry in entries)


def action_letter(number: int) -> DeadLetter:
    action = {
        "kind": "journey_entry", "destination": "sfmc", "contact_key": f"user{number:03d}@contoso.com",
        "event_definition_key": "APIEvent-copilot-onboarding", "data": {"Tenant": "t-1"},
    }  # fmt: skip
    return DeadLetter(
        kind="action", reason="transient: 503", payload=json.dumps(action).encode(), event_id=f"e-{number}",
        rule_id="copilot-first-use", action_key=f"key-{number:03d}", attempts=5,
    )  # fmt: skip


def seed(db: Path) -> None:
    async def write() -> None:
        store = SqliteStore(db)
        await store.deadletters.write([action_letter(n) for n in range(LETTERS)])
        await store.close()

    asyncio.run(write())


def replay(db: Path, base_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUALL_", "SFMC_", "DEADLETTER"))}
    env.update(SFMC_CLIENT_ID=CLIENT_ID, SFMC_CLIENT_SECRET=CLIENT_SECRET)
    command = [*SQUALL, "deadletter", "replay", "--all", "--store", f"sqlite:{db}", "--sfmc-url", base_url, "--json"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def letters_left(db: Path) -> int:
    async def count() -> int:
        store = SqliteStore(db)
        try:
            return len(await store.deadletters.list(limit=10_000))
        finally:
            await store.close()

    return asyncio.run(count())


def remembered_keys(db: Path) -> set[str]:
    async def seen() -> set[str]:
        store = SqliteStore(db)
        try:
            return await store.dedupe.seen(f"action:key-{n:03d}" for n in range(LETTERS))
        finally:
            await store.close()

    return asyncio.run(seen())


def test_a_killed_replay_rerun_loses_no_letter_and_resends_only_requests_in_flight(tmp_path: Path) -> None:
    # GIVEN 120 action letters and a stub (its own process) that answers each request after 100 ms
    db = tmp_path / "squall.db"
    seed(db)
    with stub_process(latency_ms=100) as base_url:
        # WHEN a replay is SIGKILLed once a third of the letters reached the stub
        process = replay(db, base_url)
        deadline = time.monotonic() + 120
        while sum(received_contacts(base_url).values()) < LETTERS // 3:
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the replay sent nothing in 120 s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        left_after_kill = letters_left(db)
        # AND the same replay is run again, to the end
        rerun = replay(db, base_url)
        stdout, stderr = rerun.communicate(timeout=240)
        assert rerun.returncode == 0, stderr.decode()[-2000:]
        received = received_contacts(base_url)
    # THEN the kill came mid-way, and every letter's contact was entered: none lost, none left
    assert 0 < left_after_kill < LETTERS
    assert set(received) == {f"user{n:03d}@contoso.com" for n in range(LETTERS)}
    assert letters_left(db) == 0
    # AND duplicates are only among the requests in flight at the kill
    duplicates = sum(received.values()) - LETTERS
    assert duplicates <= IN_FLIGHT_BOUND, f"{duplicates} entries sent twice"
    # AND every delivered key is remembered where the pipeline's outbox looks (never sent again by it)
    assert len(remembered_keys(db)) == LETTERS
    outcomes = json.loads(stdout.decode().strip().splitlines()[-1])["outcomes"]
    assert len(outcomes) == left_after_kill and {o["status"] for o in outcomes} == {"processed"}
