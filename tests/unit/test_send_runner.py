"""`run_send` end to end without a network: real batches, a recording sender, a fake clock."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from azure.eventhub import EventDataBatch
from azure.eventhub.exceptions import ConnectError

from squall.send.errors import SendFailed
from squall.send.models import Refusal
from squall.send.packing import offline_batch_factory
from squall.send.rate import TokenBucket
from squall.send.runner import run_send
from squall.send.source import read_jsonl


def _o365_line(record_id: str, user: str, *, padding: int = 0) -> bytes:
    record = {
        "CreationTime": "2026-11-20T10:00:00",
        "Id": record_id,
        "Operation": "FileAccessed",
        "RecordType": 6,
        "UserId": user,
        "Workload": "OneDrive",
        "Pad": "x" * padding,
    }
    return json.dumps(record).encode() + b"\n"


JSONL = b"".join(
    [
        _o365_line("1", "ann@contoso.com"),
        _o365_line("2", "bob@contoso.com"),
        b"{broken\n",
        _o365_line("3", "ann@contoso.com"),
        b'{"Workload": "OneDrive", "Operation": "FileAccessed", "CreationTime": "2026-11-20T10:00:00"}\n',
    ]
)


class RecordingSendBatch:
    """Stands in for ``producer.send_batch``: keeps the batches; fails from call ``fail_at`` on."""

    def __init__(self, *, fail_at: int | None = None) -> None:
        self.batches: list[Any] = []
        self.fail_at = fail_at

    def __call__(self, batch: Any) -> None:
        if self.fail_at is not None and len(self.batches) + 1 >= self.fail_at:
            raise ConnectError("Failed to initiate the connection\nsecond line")
        self.batches.append(batch)


def _run(send_batch: RecordingSendBatch | None, **options: Any):  # type: ignore[no-untyped-def]
    return run_send(
        read_jsonl(io.BytesIO(JSONL)),
        new_batch=offline_batch_factory(1024 * 1024),
        send_batch=send_batch,
        **options,
    )


def test_sending_reports_every_record_read_sent_or_refused() -> None:
    # GIVEN 5 lines: 3 good records of 2 users, one broken line, one record without UserId
    sender = RecordingSendBatch()
    refused: list[Refusal] = []
    # WHEN sent
    report = _run(sender, on_refusal=refused.append)
    # THEN 3 events went in 2 real batches (one per user), and both bad lines were refused by number
    assert (report.events_read, report.events_sent, report.events_refused) == (5, 3, 2)
    assert (report.batches, report.partition_keys) == (2, 2)
    assert all(isinstance(batch, EventDataBatch) for batch in sender.batches)
    assert [len(batch) for batch in sender.batches] == [2, 1]
    assert report.bytes == sum(batch.size_in_bytes for batch in sender.batches)
    assert [r.location for r in refused] == ["line 3", "line 5"]
    assert refused[1].reason == "no entity key (o365: UserId is missing)"
    assert report.refusals == [str(r) for r in refused]


def test_dry_run_plans_the_same_batches_and_sends_nothing() -> None:
    # GIVEN the same input  WHEN run without a sender
    report = _run(None)
    # THEN the plan lists each batch with its key and lines, and nothing counts as sent
    assert report.dry_run and report.events_sent == 0
    assert [(row["partition_key"], row["locations"]) for row in report.plan] == [
        ("ann@contoso.com", ["line 1", "line 4"]),
        ("bob@contoso.com", ["line 2"]),
    ]
    assert report.as_dict()["plan"] == report.plan


def test_json_report_has_exactly_the_documented_keys() -> None:
    # GIVEN a finished send  WHEN reported as JSON  THEN the documented keys are there
    data = _run(RecordingSendBatch()).as_dict()
    assert set(data) == {
        "events_read", "events_sent", "events_refused", "batches", "partition_keys", "bytes", "elapsed_s",
        "dry_run", "refusals",
    }  # fmt: skip


def test_rate_limit_takes_one_token_per_event_sent() -> None:
    # GIVEN a 1 event/s bucket on a fake clock
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate_per_s=1, clock=lambda: now[0], sleep=sleep)
    # WHEN 3 events are sent with batches capped at 1 event (as `--rate 1` does)
    report = _run(RecordingSendBatch(), bucket=bucket, max_events_per_batch=1)
    # THEN 3 batches went and the bucket made the sender wait 2 fake seconds (1 token was saved up)
    assert report.batches == 3
    assert sum(slept) == pytest.approx(2.0)


def test_a_service_failure_becomes_send_failed_with_events_sent_so_far() -> None:
    # GIVEN a hub that fails on the second batch  WHEN sent
    with pytest.raises(SendFailed) as caught:
        _run(RecordingSendBatch(fail_at=2))
    # THEN one line says what failed, and the first batch's 2 events are counted as sent
    assert (
        str(caught.value) == "sending to Event Hubs failed: ConnectError: Failed to initiate the connection"
    )
    assert caught.value.events_sent == 2
