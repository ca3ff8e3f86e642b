"""Real processes SIGKILLed at seeded random moments and rerun — `squall run` on SQLite, and the
Function's handler on the Cosmos DB protocol server: nothing lost, nothing extra, duplicates only
among the requests in flight at a kill, counts that add up, an empty outbox (kill_harness.py; `make
soak` runs 15 trials per journey mode on 10,000 records and 6 of the handler)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.actions.sfmc import MarketingCloudConfig
from tests.crash.kill_harness import CosmosHandlerTarget, SquallRunTarget, kill_trial, reference_entries, write_events

#: Requests one process has in flight at most (the deliverer's semaphore), and actions per request.
CONCURRENCY = MarketingCloudConfig.model_fields["max_concurrency"].default
PER_REQUEST = {"sync": 1, "async": MarketingCloudConfig.model_fields["async_batch_size"].default}


@pytest.mark.parametrize(("journey_mode", "seed"), [("sync", 7), ("async", 8)])
def test_killed_runs_rerun_on_the_same_store_send_what_a_clean_run_sends(
    tmp_path: Path, journey_mode: str, seed: int
) -> None:
    # GIVEN 2,000 synthetic records and what an uninterrupted run sends for them
    events = write_events(tmp_path / "events.jsonl", 2000, seed=seed)
    def make_target(label: str) -> SquallRunTarget:
        return SquallRunTarget(events, tmp_path, label)

    expected, clean_seconds = reference_entries(make_target, journey_mode=journey_mode)
    assert sum(expected.values()) > 100
    # WHEN `squall run` is killed (SIGKILL) up to three times at random moments and rerun until it completes
    result = kill_trial(
        seed, make_target, expected, journey_mode=journey_mode, clean_seconds=clean_seconds, kill_window=(0.1, 0.6)
    )
    # THEN the stub holds every entry a clean run sends, and no other
    assert result.kills >= 1 and not result.failed_runs
    assert (result.missing, result.unexpected) == (0, 0)
    # AND an entry arrived twice only if its request was in flight at a kill, and a kill leaves no more
    # actions in flight than the requests one process can have open
    assert result.duplicates_not_in_flight == 0
    assert result.max_in_flight <= CONCURRENCY * PER_REQUEST[journey_mode]
    # AND the last report adds up, and nothing is left in the outbox
    assert result.invariant_failures == []
    assert result.outbox_left == 0


def test_the_function_handler_killed_on_cosmos_replays_from_its_checkpoints_and_sends_what_a_clean_run_sends(
    tmp_path: Path, cosmos_server: Any
) -> None:
    # GIVEN 1,000 records as a hub holds them, and what the handler sends for them uninterrupted
    events = write_events(tmp_path / "events.jsonl", 1000, seed=9)

    def make_target(label: str) -> CosmosHandlerTarget:
        return CosmosHandlerTarget(events, tmp_path, label, endpoint=cosmos_server.endpoint, key=cosmos_server.key)

    expected, clean_seconds = reference_entries(make_target, journey_mode="sync")
    assert sum(expected.values()) > 50
    # WHEN the handler's process is killed at random moments and restarted from its checkpoints
    result = kill_trial(9, make_target, expected, journey_mode="sync", clean_seconds=clean_seconds,
                        kill_window=(0.2, 0.7))  # fmt: skip
    # THEN Marketing Cloud got exactly what a clean run sends, duplicates only from requests in flight
    assert result.kills >= 1 and not result.failed_runs
    assert (result.missing, result.unexpected, result.duplicates_not_in_flight) == (0, 0, 0)
    assert result.max_in_flight <= CONCURRENCY
    assert result.outbox_left == 0


def test_a_trial_starts_on_a_fresh_store_even_in_a_workdir_an_earlier_soak_left(tmp_path: Path) -> None:
    # GIVEN what an earlier soak left under the same labels: a SQLite store (and its WAL) and evidence,
    # and a handler's checkpoints
    for name in ("trial-sync-1005-0.db", "trial-sync-1005-0.db-wal", "trial-sync-1005-0.evidence.json"):
        (tmp_path / name).write_text("left by an earlier soak")
    (tmp_path / "trial-async-1005-0").mkdir()
    (tmp_path / "trial-async-1005-0" / "checkpoints.json").write_text('{"0": 1999}')
    events = tmp_path / "events.jsonl"
    # WHEN targets are made for those labels
    run = SquallRunTarget(events, tmp_path, "trial-sync-1005-0")
    handler = CosmosHandlerTarget(events, tmp_path, "trial-async-1005-0", endpoint="https://unused", key="unused")
    # THEN none of it is left: a rerun soak compares fresh runs, not replays on old stores (a second
    # `make soak` once failed every trial past the first five this way)
    assert not run.db.exists() and sorted(tmp_path.iterdir()) == [handler.workdir]
    assert list(handler.workdir.iterdir()) == []
