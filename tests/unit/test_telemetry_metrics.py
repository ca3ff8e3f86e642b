"""Metrics from a BatchReport and from delivery outcomes, read back from the SDK's in-memory reader."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import pytest

from shared.actions.errors import DestinationUnavailable
from shared.actions.models import ActionKind, DeliveryOutcome, DeliveryStatus, FailureKind, PlannedAction
from shared.pipeline.report import BatchReport
from shared.telemetry import MeasuredSender, record_batch, record_delivery
from tests.unit.telemetry_recording import Recorded, recording


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    yield from recording()


def action(key: str = "rule-a:v1:event-1:journey_entry") -> PlannedAction:
    return PlannedAction(
        key=key, kind=ActionKind.JOURNEY_ENTRY, rule_id="rule-a", event_id="event-1",
        entity="user-1", contact_key="user-1", event_definition_key="APIEvent-a",
    )  # fmt: skip


def test_batch_report_becomes_counters_by_outcome_rule_and_a_duration(recorded: Recorded) -> None:
    # GIVEN a report with every kind of count
    report = BatchReport(
        events_in=10, events_normalized=8, events_dead_lettered=2, events_duplicate=3, events_suppressed=1,
        rule_matches=5, matches_by_rule={"rule-a": 4, "rule-b": 1}, actions_planned=5,
        actions_delivered=3, actions_failed=1, actions_skipped_duplicate=1, actions_dead_lettered=2,
    )  # fmt: skip
    # WHEN it is recorded for partition 7
    record_batch(report, partition="7", duration_s=0.25)
    # THEN each count is a counter point with its outcome (events also by partition)
    assert recorded.counter("squall.events", outcome="normalized", partition="7", trigger="event_hub") == 8
    assert recorded.counter("squall.events", outcome="dead_lettered", partition="7", trigger="event_hub") == 2
    assert recorded.counter("squall.events", outcome="duplicate", partition="7", trigger="event_hub") == 3
    assert recorded.counter("squall.events", outcome="suppressed", partition="7", trigger="event_hub") == 1
    assert recorded.counter("squall.rule_matches", rule_id="rule-a") == 4
    assert recorded.counter("squall.rule_matches", rule_id="rule-b") == 1
    for outcome, count in (("delivered", 3), ("failed", 1), ("skipped_duplicate", 1), ("dead_lettered", 2)):
        assert recorded.counter("squall.actions", outcome=outcome, trigger="event_hub") == count
    # AND the duration is one histogram point of 0.25 s
    duration = recorded.counter("squall.batch.duration", partition="7", trigger="event_hub")
    assert (duration.count, duration.sum) == (1, 0.25)  # type: ignore[attr-defined]


def test_counts_accumulate_across_batches_and_zero_counts_add_no_points(recorded: Recorded) -> None:
    # GIVEN two batches of the same partition, neither with duplicates
    record_batch(BatchReport(events_in=2, events_normalized=2), partition="0", duration_s=0.1)
    record_batch(BatchReport(events_in=3, events_normalized=3), partition="0", duration_s=0.1)
    # THEN the normalized counter sums both, and no duplicate/action points exist
    assert recorded.counter("squall.events", outcome="normalized", partition="0", trigger="event_hub") == 5
    names = {name for name, _ in recorded.metric_points()}
    assert names == {"squall.events", "squall.batch.duration"}


def test_delivery_outcomes_record_attempts_and_retries_by_outcome(recorded: Recorded) -> None:
    # GIVEN one action delivered at the 3rd attempt and one failed permanently at the 1st
    outcomes = [
        DeliveryOutcome(action("k1"), DeliveryStatus.DELIVERED, 3),
        DeliveryOutcome(action("k2"), DeliveryStatus.FAILED, 1, reason="HTTP 400", failure=FailureKind.PERMANENT),
    ]
    # WHEN recorded with the call's duration
    record_delivery(outcomes, duration_s=1.5)
    # THEN two retries count for the delivered one, none for the failed one
    assert recorded.counter("squall.delivery.retries", outcome="delivered") == 2
    assert recorded.counter("squall.delivery.retries", outcome="failed", failure="permanent") is None
    attempts = recorded.counter("squall.delivery.attempts", outcome="failed", failure="permanent")
    assert (attempts.count, attempts.sum) == (1, 1)  # type: ignore[attr-defined]
    # AND the call's duration is recorded as failed (one action failed)
    duration = recorded.counter("squall.delivery.duration", outcome="failed")
    assert duration.sum == 1.5  # type: ignore[attr-defined]


class DownSender:
    """The destination is down: one action got through, the other may be retried later."""

    async def deliver(self, actions: Sequence[PlannedAction], **_: object) -> list[DeliveryOutcome]:
        first, second = actions
        outcomes = [
            DeliveryOutcome(first, DeliveryStatus.DELIVERED, 1),
            DeliveryOutcome(second, DeliveryStatus.FAILED, 4, reason="HTTP 503", failure=FailureKind.TRANSIENT),
        ]
        raise DestinationUnavailable("sfmc is down", destination="sfmc", retry_after=30, outcomes=outcomes)


def test_measured_sender_records_what_settled_when_the_destination_is_down(recorded: Recorded) -> None:
    # GIVEN a sender whose destination goes down mid-batch, measured
    sender = MeasuredSender(DownSender())
    # WHEN it delivers two actions  THEN the whole-batch error still reaches the caller
    with pytest.raises(DestinationUnavailable):
        asyncio.run(sender.deliver([action("k1"), action("k2")]))
    # AND the attempts of both settled actions were recorded, with 3 retries for the failed one
    delivered = recorded.counter("squall.delivery.attempts", outcome="delivered")
    assert (delivered.count, delivered.sum) == (1, 1)  # type: ignore[attr-defined]
    assert recorded.counter("squall.delivery.retries", outcome="failed", failure="transient") == 3
    assert recorded.counter("squall.delivery.duration", outcome="failed").count == 1  # type: ignore[union-attr]


def test_rule_firings_are_counted_by_rule_id_and_mode(recorded: Recorded) -> None:
    # GIVEN a batch where a live rule fired 4 times and a shadow rule 2 times
    report = BatchReport(
        rule_matches=6, matches_by_rule={"burst": 4, "pair": 2}, shadow_matches_by_rule={"pair": 2},
        actions_planned=4, actions_shadowed=2,
    )  # fmt: skip
    # WHEN it is recorded
    record_batch(report, partition="1", duration_s=0.1)
    # THEN squall.rule.firings has one point per rule, with its mode
    assert recorded.counter("squall.rule.firings", rule_id="burst", mode="live") == 4
    assert recorded.counter("squall.rule.firings", rule_id="pair", mode="shadow") == 2
    assert recorded.counter("squall.rule.firings", rule_id="pair", mode="live") is None
    # AND squall.rule_matches still counts every match by rule id, as before
    assert recorded.counter("squall.rule_matches", rule_id="pair") == 2
