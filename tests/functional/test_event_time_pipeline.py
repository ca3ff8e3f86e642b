"""A record dated 2099 (or year 9999) is dead-lettered with its reason and moves no clock: through
``process_batch`` (the batch's event-time clock, the entity's watermark) and through the local
runtime (its EventTimeClock fires absence deadlines; a 2099 record must not fire them all)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.events.models import RawEvent
from shared.pipeline import PipelineDeps, process_batch
from shared.pipeline.event_time import EVENT_TIME_AHEAD
from shared.rules import compile_ruleset, load_rule_files, validate_rules
from shared.rules.stateful.memory import WATERMARK_KEY
from shared.store.sqlite import SqliteStore
from squall.local_runtime import run_local
from tests.fakes import FixedRuleSource, RecordingSender

ROOT = Path(__file__).resolve().parents[2]
SIGN_IN_RULE = ROOT / "rules" / "signed-in-no-teams.yaml"  # absence: signed in, no Teams within 30 min
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def o365(record_id: str, user: str, operation: str, workload: str, at: str) -> bytes:
    return json.dumps(
        {
            "CreationTime": at, "Id": record_id, "Operation": operation, "OrganizationId": "tenant-1",
            "RecordType": 15, "ResultStatus": "Succeeded", "UserKey": "k", "UserType": 0,
            "Workload": workload, "UserId": user,
        }
    ).encode()  # fmt: skip


def sign_in(record_id: str, user: str, at: datetime) -> bytes:
    return o365(record_id, user, "UserLoggedIn", "AzureActiveDirectory", at.strftime("%Y-%m-%dT%H:%M:%S"))


def raw(body: bytes, sequence: int, *, enqueued: datetime, partition: str = "0") -> RawEvent:
    return RawEvent(
        body=body, partition=partition, sequence_number=sequence, offset=str(sequence), enqueued_time=enqueued
    )


FROM_2099 = sign_in("far-future", "bob@contoso.com", datetime(2099, 1, 1, tzinfo=UTC))
FROM_9999 = o365("year-9999", "bob@contoso.com", "UserLoggedIn", "AzureActiveDirectory", "9999-12-31T23:59:59")


def test_a_2099_record_is_dead_lettered_and_moves_neither_the_batch_clock_nor_the_watermark() -> None:
    async def scenario() -> None:
        # GIVEN the absence rule and a batch: a sign-in now, then records dated 2099 and 9999 for the same user
        store = SqliteStore(":memory:")
        ruleset = compile_ruleset(validate_rules(load_rule_files(SIGN_IN_RULE.parent)).rules, version=1)
        deps = PipelineDeps(
            rules=FixedRuleSource(ruleset), states=store.states, dedupe=store.dedupe,
            deadletters=store.deadletters, sender=RecordingSender(),
        )  # fmt: skip
        enqueued = T0 + timedelta(seconds=5)
        batch = [
            raw(sign_in("now", "bob@contoso.com", T0), 1, enqueued=enqueued),
            raw(FROM_2099, 2, enqueued=enqueued),
            raw(FROM_9999, 3, enqueued=enqueued),
        ]
        # WHEN processed
        report = await process_batch(batch, deps)
        # THEN both are dead-lettered with reasons naming both times; the counts add up
        assert (report.events_in, report.events_normalized, report.events_dead_lettered) == (3, 1, 2)
        assert report.dead_letter_reasons == {EVENT_TIME_AHEAD: 2}
        letters = await store.deadletters.list()
        assert {letter.event_id for letter in letters} == {"far-future", "year-9999"}
        assert all(enqueued.isoformat() in letter.reason for letter in letters)
        assert all((letter.partition, letter.enqueued_time) == ("0", enqueued) for letter in letters)
        # AND no clock moved: the batch's newest event time and the entity's watermark are the sign-in's
        assert report.latest_event_time == T0
        state = (await store.states.load_states(["bob@contoso.com"]))["bob@contoso.com"]
        assert state.data[WATERMARK_KEY] == int(T0.timestamp() * 1000)
        assert state.due_at == T0 + timedelta(minutes=30)
        await store.close()

    asyncio.run(scenario())


def run_locally(
    tmp_path: Path, bodies: list[tuple[bytes, datetime]]
) -> tuple[int, int, dict[str, int], datetime | None]:
    """The local runtime over one partition's batches (one record each); planned, delivered, reasons,
    and the newest event time its clock saw."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    shutil.copy(SIGN_IN_RULE, rules)
    batches = [[raw(body, index, enqueued=enqueued)] for index, (body, enqueued) in enumerate(bodies)]
    result = asyncio.run(run_local(batches, rules_dir=rules, store_path=tmp_path / f"run{len(bodies)}.db",
                                   push_rules=True))  # fmt: skip
    report = result.report
    assert report.events_in == report.events_normalized + report.events_dead_lettered
    assert report.invariant_problems() == []
    return report.actions_planned, report.actions_delivered, report.dead_letter_reasons, report.latest_event_time


def test_a_2099_record_does_not_fire_a_pending_absence_in_the_local_runtime(tmp_path: Path) -> None:
    # GIVEN a sign-in (an absence deadline 30 minutes later), then a record dated 2099
    enqueued = T0 + timedelta(seconds=5)
    bodies = [(sign_in("now", "ada@contoso.com", T0), enqueued), (FROM_2099, enqueued)]
    # WHEN the local runtime runs them  THEN the 2099 record is parked and its time reached no clock: the
    # one absence is decided by the end-of-input policy (newest real event + the rule's wait), once
    assert run_locally(tmp_path, bodies) == (1, 1, {EVENT_TIME_AHEAD: 1}, T0)


def test_a_later_deadline_still_fires_after_a_2099_record(tmp_path: Path) -> None:
    # GIVEN the same, then a real event 31 minutes after the sign-in
    later = T0 + timedelta(minutes=31)
    bodies = [
        (sign_in("now", "ada@contoso.com", T0), T0),
        (FROM_2099, T0),
        (sign_in("later", "cy@contoso.com", later), later),
    ]
    # WHEN run  THEN event time reaches ada's deadline and the end of input cy's: each absence fires once,
    # the 2099 record is counted, and the clock's newest time is the real event's
    assert run_locally(tmp_path, bodies) == (2, 2, {EVENT_TIME_AHEAD: 1}, later)


def test_a_malformed_skew_setting_is_one_line_at_the_cli(tmp_path: Path) -> None:
    # GIVEN SQUALL_MAX_CLOCK_SKEW that is no duration  WHEN any squall command runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUALL_")} | {"SQUALL_MAX_CLOCK_SKEW": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "squall", "deadletter", "list", "--store", f"sqlite:{tmp_path / 'none.db'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # THEN it exits 2 with one line naming the setting, no traceback
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: invalid setting SQUALL_MAX_CLOCK_SKEW='soon': "
        "Input should be a valid timedelta, invalid digit in duration"
    ]
