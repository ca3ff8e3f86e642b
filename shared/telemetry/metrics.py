"""Pipeline metrics from a BatchReport and from delivery outcomes.

Counters and histograms on an OpenTelemetry ``Meter``; with no SDK configured the API's no-op
meter makes every call free. Dimensions are few and bounded (outcome, rule id, partition,
trigger), so Application Insights custom metrics stay cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.metrics import Meter

from shared.actions.models import DeliveryOutcome, DeliveryStatus
from shared.pipeline.report import BatchReport
from shared.telemetry import names

# Bucket bounds (the SDK's defaults are for milliseconds; ours are seconds and attempt counts).
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
ATTEMPT_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10)


class PipelineMetrics:
    """The instruments Squall records, created once per meter."""

    def __init__(self, meter: Meter) -> None:
        self.events = meter.create_counter(names.EVENTS, unit="{event}", description="Events by outcome")
        self.rule_matches = meter.create_counter(
            names.RULE_MATCHES, unit="{match}", description="Rule matches by rule id"
        )
        self.rule_firings = meter.create_counter(
            names.RULE_FIRINGS, unit="{firing}", description="Rule firings by rule id and mode (live, shadow)"
        )
        self.actions = meter.create_counter(names.ACTIONS, unit="{action}", description="Actions by outcome")
        self.batch_duration = meter.create_histogram(
            names.BATCH_DURATION,
            unit="s",
            description="Time to process one batch",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )
        self.delivery_attempts = meter.create_histogram(
            names.DELIVERY_ATTEMPTS,
            unit="{attempt}",
            description="HTTP attempts per settled action",
            explicit_bucket_boundaries_advisory=ATTEMPT_BUCKETS,
        )
        self.delivery_retries = meter.create_counter(
            names.DELIVERY_RETRIES, unit="{attempt}", description="Delivery attempts beyond the first"
        )
        self.delivery_duration = meter.create_histogram(
            names.DELIVERY_DURATION,
            unit="s",
            description="Time for one call to the sender (a chunk of actions)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )

        self.outbox_backlog = meter.create_gauge(
            names.OUTBOX_BACKLOG, unit="{action}", description="Actions waiting in the outbox"
        )
        self.outbox_backlog_age = meter.create_gauge(
            names.OUTBOX_BACKLOG_AGE, unit="s", description="Age of the oldest action waiting in the outbox"
        )
        self.ingest_lag = meter.create_gauge(
            names.INGEST_LAG, unit="s", description="How far behind the hub a partition is: now - newest enqueued time"
        )

    def record_backlog(self, count: int, age_s: float) -> None:
        self.outbox_backlog.set(count)
        self.outbox_backlog_age.set(age_s)

    def record_lag(self, lag_s: float, *, partition: str | None) -> None:
        """Consumer lag, once per Event Hub batch (from the batch's own enqueued times: no store call)."""
        self.ingest_lag.set(max(0.0, lag_s), {} if partition is None else {names.PARTITION: partition})

    def record_batch(
        self, report: BatchReport, *, partition: str | None, duration_s: float, trigger: str = "event_hub"
    ) -> None:
        """Add one batch's counts (zero counts are skipped) and its duration."""
        where = {names.TRIGGER: trigger} | ({} if partition is None else {names.PARTITION: partition})
        for outcome, count in (
            ("normalized", report.events_normalized),
            ("dead_lettered", report.events_dead_lettered),
            ("duplicate", report.events_duplicate),
            ("suppressed", report.events_suppressed),
        ):
            if count:
                self.events.add(count, where | {names.OUTCOME: outcome})
        for rule_id, count in report.matches_by_rule.items():
            self.rule_matches.add(count, {names.RULE_ID: rule_id})
            self._record_firings(rule_id, count, shadow=report.shadow_matches_by_rule.get(rule_id, 0))
        for outcome, count in (
            ("delivered", report.actions_delivered),
            ("failed", report.actions_failed),
            ("skipped_duplicate", report.actions_skipped_duplicate),
            ("dead_lettered", report.actions_dead_lettered),
        ):
            if count:
                self.actions.add(count, {names.TRIGGER: trigger, names.OUTCOME: outcome})
        self.batch_duration.record(duration_s, where)

    def _record_firings(self, rule_id: str, count: int, *, shadow: int) -> None:
        """A rule's firings in a batch, by mode (a batch runs one rule-set version: one mode per rule)."""
        if count > shadow:
            self.rule_firings.add(count - shadow, {names.RULE_ID: rule_id, names.MODE: "live"})
        if shadow:
            self.rule_firings.add(shadow, {names.RULE_ID: rule_id, names.MODE: "shadow"})

    def record_delivery(self, outcomes: Sequence[DeliveryOutcome], *, duration_s: float | None = None) -> None:
        """Attempts and retries per settled action; the call's duration when the caller timed it."""
        for outcome in outcomes:
            where = _delivery_dimensions(outcome)
            self.delivery_attempts.record(outcome.attempts, where)
            if outcome.attempts > 1:
                self.delivery_retries.add(outcome.attempts - 1, where)
        if duration_s is not None:
            failed = any(o.status is DeliveryStatus.FAILED for o in outcomes)
            self.delivery_duration.record(duration_s, {names.OUTCOME: "failed" if failed else "delivered"})


def _delivery_dimensions(outcome: DeliveryOutcome) -> dict[str, str]:
    where = {names.OUTCOME: outcome.status.value}
    if outcome.failure is not None:
        where[names.FAILURE] = outcome.failure.value
    return where
