"""Spans around batches and the outbox timer; log records inside them carry the batch's fields."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from shared.events.models import RawEvent
from shared.pipeline import BatchRetryRequired
from shared.pipeline.report import BatchReport
from shared.telemetry import batch_span, log_ids, outbox_retry_span
from shared.telemetry.log_export import LogExportHandler
from tests.unit.telemetry_recording import Recorded, recording

log = logging.getLogger("shared.telemetry_test")


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    yield from recording()


def hub_batch(partition: str, sequences: list[int]) -> list[RawEvent]:
    return [RawEvent(body=b"{}", partition=partition, sequence_number=s) for s in sequences]


def test_batch_span_names_partition_sequence_range_and_size(recorded: Recorded) -> None:
    # GIVEN a batch of three events from partition 3
    # WHEN it is processed inside batch_span and its report recorded
    with batch_span(hub_batch("3", [42, 40, 41])) as batch:
        batch.record(BatchReport(events_in=3, events_normalized=2, events_dead_lettered=1, rule_matches=1))
    # THEN one CONSUMER span carries the partition, first/last sequence numbers, size and counts
    [span] = recorded.finished_spans()
    assert (span.name, span.kind) == ("squall.process_batch", SpanKind.CONSUMER)
    attributes = dict(span.attributes or {})
    assert attributes["messaging.destination.partition.id"] == attributes["squall.partition"] == "3"
    assert (attributes["squall.sequence_number.first"], attributes["squall.sequence_number.last"]) == (40, 42)
    assert attributes["messaging.batch.message_count"] == 3
    assert (attributes["squall.events.in"], attributes["squall.events.dead_lettered"]) == (3, 1)
    # AND the batch's metrics were recorded with the same partition
    assert recorded.counter("squall.events", outcome="dead_lettered", partition="3", trigger="event_hub") == 1


def test_a_batch_that_must_be_retried_records_its_report_and_fails_the_span(recorded: Recorded) -> None:
    # GIVEN a batch whose destination is down after two deliveries
    retry = BatchRetryRequired("destination sfmc is down", retry_after=30)
    retry.report = BatchReport(events_in=2, events_normalized=2, actions_planned=3, actions_delivered=2)
    # WHEN process_batch raises it inside batch_span
    with pytest.raises(BatchRetryRequired), batch_span(hub_batch("0", [1, 2])):
        raise retry
    # THEN the span is an error and the deliveries that did happen are counted
    [span] = recorded.finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert recorded.counter("squall.actions", outcome="delivered", trigger="event_hub") == 2


def test_outbox_retry_span_records_actions_under_its_trigger(recorded: Recorded) -> None:
    # WHEN the timer delivers one pending action inside outbox_retry_span
    with outbox_retry_span() as run:
        run.record(BatchReport(actions_planned=1, actions_delivered=1))
    # THEN its span exists and the action counts as delivered by the outbox retry
    assert [s.name for s in recorded.finished_spans()] == ["squall.retry_outbox"]
    assert recorded.counter("squall.actions", outcome="delivered", trigger="outbox_retry") == 1


def test_logs_inside_a_batch_are_exported_with_ids_partition_and_the_batch_trace(recorded: Recorded) -> None:
    # GIVEN the exporting handler on a shared.* logger
    handler = LogExportHandler(recorded.logger_provider)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        # WHEN a log call names an event and a rule inside a batch of partition 5
        with batch_span(hub_batch("5", [7])):
            ids = log_ids(rule_id="rule-a", event_id="event-1")
            log.warning("rule %s failed for event %s", "rule-a", "event-1", extra=ids)
    finally:
        log.removeHandler(handler)
    # THEN the exported record has the ids and the batch's partition as attributes
    [exported] = recorded.logs.get_finished_logs()
    record = exported.log_record
    assert record.body == "rule rule-a failed for event event-1"
    assert dict(record.attributes or {}) == {"rule_id": "rule-a", "event_id": "event-1", "partition": "5"}
    # AND it belongs to the batch's trace (Application Insights: same operation_Id)
    [span] = recorded.finished_spans()
    assert record.trace_id == span.context.trace_id


def test_exported_logs_carry_only_allow_listed_fields_and_no_exception_message(recorded: Recorded) -> None:
    # GIVEN a careless log call passing a payload as extra, with an exception quoting input
    handler = LogExportHandler(recorded.logger_provider)
    log.addHandler(handler)
    try:
        try:
            raise ValueError("bad value 'secret-payload-7731'")
        except ValueError:
            log.exception("normalizer failed", extra={"payload": b"secret-payload-7731", "sequence_number": 9})
    finally:
        log.removeHandler(handler)
    # THEN only the allow-listed field and the exception's type and frames are exported
    [exported] = recorded.logs.get_finished_logs()
    attributes = dict(exported.log_record.attributes or {})
    assert set(attributes) == {"sequence_number", "exception.type", "exception.stacktrace"}
    assert attributes["exception.type"] == "ValueError"
    assert "secret-payload-7731" not in repr(attributes) + str(exported.log_record.body)


def test_log_ids_leaves_out_missing_ids() -> None:
    # WHEN only some ids are known  THEN only those become fields
    assert log_ids(action_key="k1", rule_id=None, sequence_number=0) == {"action_key": "k1", "sequence_number": 0}


def test_batch_span_records_the_partition_lag_from_the_newest_enqueued_time(recorded: Recorded) -> None:
    # GIVEN a batch from partition 5 whose newest event was enqueued two minutes ago
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    batch = [
        RawEvent(body=b"{}", partition="5", sequence_number=1, enqueued_time=now - timedelta(minutes=10)),
        RawEvent(body=b"{}", partition="5", sequence_number=2, enqueued_time=now - timedelta(minutes=2)),
    ]
    # WHEN it is processed inside batch_span
    with batch_span(batch) as observation:
        observation.record(BatchReport(events_in=2, events_normalized=2))
    # THEN squall.ingest.lag holds about 120 s for that partition (the consumer is two minutes behind the hub)
    lag = recorded.metric_points()[("squall.ingest.lag", frozenset({("partition", "5")}))]
    assert 119 <= lag <= 130  # type: ignore[operator]


def test_the_outbox_timer_records_no_lag(recorded: Recorded) -> None:
    with outbox_retry_span() as observation:
        observation.record(BatchReport())
    assert not [key for key in recorded.metric_points() if key[0] == "squall.ingest.lag"]
