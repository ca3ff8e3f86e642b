"""`squall run` while Marketing Cloud is down for the whole run: ingestion completes all the same, the
run ends with a message and its report (the backlog), the outbox keeps every undelivered action, and
the next run delivers each of them once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.crash.kill_harness import (
    ROOT,
    SQUALL,
    SquallRunTarget,
    entry_identity,
    invariant_problems,
    reference_entries,
    run_environment,
    run_process,
    running_stub,
    write_events,
)


def test_a_destination_down_for_the_whole_run_stops_it_and_the_next_run_delivers_everything_once(
    tmp_path: Path,
) -> None:
    events = write_events(tmp_path / "events.jsonl", 600, seed=5)
    expected, _ = reference_entries(lambda label: SquallRunTarget(events, tmp_path, label), journey_mode="sync")
    target = SquallRunTarget(events, tmp_path, "down")
    # GIVEN a stub that answers every Marketing Cloud request with a server error
    with running_stub("--error-rate", "1") as down:
        env = run_environment(down, journey_mode="sync")
        target.prepare(down, env)
        # WHEN `squall run` runs the file against it, its relay giving up after one attempt
        command = [*SQUALL, "run", "--events", str(events), "--store", f"sqlite:{target.db}", "--sfmc-url",
                   down.base_url, "--give-up-after", "1", "--json"]  # fmt: skip
        stopped = run_process(command, env, cwd=ROOT, kill_after_s=None)
        assert down.entries() == []
    # THEN it exits 1 with one line that says what happened and what to do, and a report that adds up
    assert stopped.exit_code == 1 and stopped.report is not None
    assert "run stopped: a destination stayed down" in stopped.stderr and "rerun" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert invariant_problems(stopped.report) == []
    assert stopped.report["actions_delivered"] == 0 and stopped.report["actions_pending"] > 0
    # AND ingestion never waited on the destination: every record was processed, and every action it
    # planned waits in the outbox, reported as the backlog
    assert stopped.report["events_in"] == 600
    assert 0 < target.outbox_left() == stopped.report["actions_planned"] == stopped.report["actions_pending"]
    # WHEN Marketing Cloud is back and the same file runs again on the same store
    with running_stub() as back:
        target.prepare(back, run_environment(back, journey_mode="sync"))
        recovered = target.run(kill_after_s=None)
        received = Counter(entry_identity(e) for e in back.entries())
    # THEN each action is delivered once (the waiting ones recovered from the outbox, the rest of the
    # file processed), and nothing is left
    assert recovered.exit_code == 0 and recovered.report is not None
    assert received == expected
    assert recovered.report["actions_recovered"] == stopped.report["actions_planned"]
    assert invariant_problems(recovered.report) == []
    assert target.outbox_left() == 0
