"""What one run did (a batch, a timer run): the BatchReport and the dead letters, and their only writer.

The steps of a run are handed one ``BatchLedger`` and say what happened (``rejected``,
``evaluation_failed``, ``matched``, ``delivered`` ...); the ledger counts and letters it, so the
report's invariants hold in one place. ``park()`` writes the letters once the run ends, however it
ends, and skips a rejected message an earlier attempt of the same batch already parked (its
``rejected:`` key: partition, sequence number and a digest of the bytes). What shadow rules would
have sent (``shadow``) is kept the same way and audited once, at the end (``audit_shadowed``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from shared.actions.models import DeliveryOutcome, PlannedAction, action_to_json
from shared.actions.planning import PlanFailure, PlanResult
from shared.events import BatchNormalized, Rejection
from shared.events.models import Event, RawEvent
from shared.log_fields import log_ids
from shared.pipeline.audit import DeliveryAudit
from shared.pipeline.event_time import RefusedEvent
from shared.pipeline.report import BatchReport
from shared.rules import RuleMatch
from shared.store.models import DeadLetter, DeadLetterKind
from shared.store.ports import DeadLetterSink, DedupeStore, StateStore

log = logging.getLogger(__name__)

REJECTED_KEY_PREFIX = "rejected:"


class BatchLedger:
    """The report and the dead letters of one run; every count and letter goes through a method here."""

    __slots__ = ("letters", "report", "shadowed")

    def __init__(self, report: BatchReport | None = None) -> None:
        self.report = BatchReport() if report is None else report
        self.letters: list[DeadLetter] = []
        self.shadowed: list[PlannedAction] = []  # what shadow rules would have sent, audited at the end

    # --- events ----------------------------------------------------------------------------------

    def normalized(
        self,
        raw_events: Sequence[RawEvent],
        normalized: BatchNormalized,
        *,
        events: Sequence[Event] | None = None,
        refused: Sequence[RefusedEvent] = (),
    ) -> None:
        """Count a batch's normalization and letter each message (or record) the normalizer refused,
        and each event whose time was refused (``refused``; ``events`` are the ones kept)."""
        kept = normalized.events if events is None else events
        for message, rejection in normalized.rejections:
            self._rejected(raw_events[message], rejection)
        for refusal in refused:
            self._time_refused(refusal)
        report = self.report
        report.events_in += normalized.records
        report.events_normalized += len(kept)
        report.events_dead_lettered += len(normalized.rejections) + len(refused)
        report.latest_event_time = max((e.time for e in kept), default=None)

    def _time_refused(self, refusal: RefusedEvent) -> None:
        """An event whose time is not sane: parked as the canonical event, its provenance kept."""
        event = refusal.event
        self.letters.append(
            DeadLetter(
                kind=DeadLetterKind.EVENT, reason=refusal.reason, payload=event.model_dump_json().encode(),
                partition=event.partition, sequence_number=event.sequence_number,
                enqueued_time=event.enqueued_time, event_id=event.id, entity=event.entity,
            )
        )  # fmt: skip
        log.warning(
            "event dead-lettered: %s", refusal.reason,
            extra=log_ids(event_id=event.id, partition=event.partition, sequence_number=event.sequence_number),
        )  # fmt: skip

    def _rejected(self, raw: RawEvent, rejection: Rejection) -> None:
        self.letters.append(
            DeadLetter(
                kind=DeadLetterKind.EVENT, reason=rejection.reason, payload=rejection.payload,
                partition=raw.partition, sequence_number=raw.sequence_number, offset=raw.offset,
                enqueued_time=raw.enqueued_time,
            )
        )  # fmt: skip
        log.warning(
            "event dead-lettered: %s (partition=%s sequence=%s index=%s)",
            rejection.reason, raw.partition, raw.sequence_number, rejection.index,
            extra=log_ids(partition=raw.partition, sequence_number=raw.sequence_number),
        )  # fmt: skip

    def duplicates(self, count: int) -> None:
        self.report.events_duplicate += count

    def late(self, count: int) -> None:
        self.report.events_late += count

    def suppressed(self, count: int) -> None:
        """Events of suppressed entities, dropped before the rules (the suppression list)."""
        self.report.events_suppressed += count

    def suppressed_deadlines(self, count: int) -> None:
        """Deadline firings of suppressed entities, dropped before planning."""
        self.report.deadlines_suppressed += count

    def evaluation_failed(self, event: Event, exc: Exception) -> None:
        """A rule raised on ``event``: the event is parked with the exception's type (never its text)."""
        log.error(
            "rule evaluation failed for event %s", event.id, exc_info=exc,
            extra=log_ids(event_id=event.id, partition=event.partition, sequence_number=event.sequence_number),
        )  # fmt: skip
        self.letters.append(
            DeadLetter(
                kind=DeadLetterKind.EVENT, reason=f"rule evaluation failed: {type(exc).__name__}",
                payload=event.model_dump_json().encode(), partition=event.partition,
                sequence_number=event.sequence_number, enqueued_time=event.enqueued_time, event_id=event.id,
                entity=event.entity,
            )
        )  # fmt: skip

    # --- entities and actions --------------------------------------------------------------------

    def committed(self, *, read: int, written: int) -> None:
        self.report.state_reads += read
        self.report.state_writes += written

    def matched(self, matches: Iterable[RuleMatch]) -> None:
        report = self.report
        for match in matches:
            report.rule_matches += 1
            report.matches_by_rule[match.rule_id] = report.matches_by_rule.get(match.rule_id, 0) + 1
            if match.shadow:
                shadow = report.shadow_matches_by_rule
                shadow[match.rule_id] = shadow.get(match.rule_id, 0) + 1

    def shadow(self, planned: PlanResult) -> None:
        """Shadow rules' matches, planned but never sent: counted, and kept for the audit (``outcome=shadow``).
        One whose action cannot be rendered is only logged: a dead letter could be replayed, and sent."""
        self.report.actions_shadowed += len(planned.actions)
        self.shadowed.extend(planned.actions)
        for failure in planned.failures:
            match = failure.match
            log.warning(
                "shadow rule %s: %s (event %s)", match.rule_id, failure.reason, match.event.id,
                extra=log_ids(rule_id=match.rule_id, event_id=match.event.id),
            )  # fmt: skip

    def unplannable(self, failures: Iterable[PlanFailure]) -> None:
        """A match whose action cannot be rendered (a template field missing ...) is parked with why."""
        for failure in failures:
            event = failure.match.event
            self.letters.append(
                DeadLetter(
                    kind=DeadLetterKind.ACTION, reason=failure.reason, payload=event.model_dump_json().encode(),
                    partition=event.partition, sequence_number=event.sequence_number, event_id=event.id,
                    rule_id=failure.match.rule_id, entity=event.entity,
                )
            )  # fmt: skip

    def planned(self, count: int) -> None:
        self.report.actions_planned += count

    def skipped_duplicate(self, count: int) -> None:
        self.report.actions_skipped_duplicate += count

    def delivered(self, count: int) -> None:
        self.report.actions_delivered += count

    def recovered(self, count: int, *, uncertain: int) -> None:
        """Outbox entries of an earlier attempt taken up now; ``uncertain`` of them were in flight
        when that attempt stopped (they may have been delivered already)."""
        self.report.actions_recovered += count
        self.report.actions_uncertain += uncertain

    def pending(self, count: int) -> None:
        """Entries handed to delivery that stay in the outbox for a later attempt."""
        self.report.actions_pending += count

    def delivery_failed(self, outcome: DeliveryOutcome) -> None:
        """An action the destination refused for good (or that ran out of attempts) is parked."""
        action = outcome.action
        self.report.actions_failed += 1
        self.letters.append(
            DeadLetter(
                kind=DeadLetterKind.ACTION, reason=outcome.reason or "delivery failed",
                payload=json.dumps(action_to_json(action), default=str).encode(),
                event_id=action.event_id, rule_id=action.rule_id,
                action_key=action.key, attempts=outcome.attempts, entity=action.entity,
            )
        )  # fmt: skip

    def absorb(self, other: BatchLedger) -> None:
        """Take over the counts and letters of a scratch ledger (one entity's last attempt)."""
        self.report += other.report
        self.letters.extend(other.letters)
        self.shadowed.extend(other.shadowed)

    def elapsed(self, seconds: float) -> None:
        self.report.elapsed_s = seconds

    # --- the end of the run ----------------------------------------------------------------------

    async def park(self, sink: DeadLetterSink, dedupe: DedupeStore, *, ttl_s: int) -> None:
        """Write the letters and count their reasons, except rejected messages an earlier attempt of
        this batch parked; then remember the rejections parked now."""
        letters, self.letters = self.letters, []
        keys = {id(letter): _rejection_key(letter) for letter in letters}
        seen = await dedupe.seen(key for key in keys.values() if key) if any(keys.values()) else set()
        fresh = [letter for letter in letters if keys[id(letter)] not in seen]
        for letter in fresh:
            self.report.count_reason(letter.reason)
            self.report.actions_dead_lettered += letter.kind == DeadLetterKind.ACTION
        if fresh:
            await sink.write(fresh)
        parked = [key for key in keys.values() if key and key not in seen]
        if parked:
            await dedupe.remember(parked, ttl_s=ttl_s)


async def audit_shadowed(ledger: BatchLedger, states: StateStore, audit: DeliveryAudit) -> None:
    """Write the audit records of what the run's shadow rules would have sent: one store write for
    the run (none without shadow matches), each record also logged at INFO."""
    actions, ledger.shadowed = ledger.shadowed, []
    if actions:
        await audit.write(states, audit.shadowed(actions, at=datetime.now(UTC)))


def _rejection_key(letter: DeadLetter) -> str | None:
    """A rejected message is the same letter on every replay: partition, sequence number, bytes."""
    if letter.kind != DeadLetterKind.EVENT or letter.partition is None or letter.sequence_number is None:
        return None
    digest = hashlib.sha256(letter.payload).hexdigest()[:16]
    return f"{REJECTED_KEY_PREFIX}{letter.partition}:{letter.sequence_number}:{digest}"
