"""Turning settled deliveries into ``DeliveryOutcome``s, logged by action key (never by payload)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from shared.actions.breaker import BreakerState, CircuitBreaker
from shared.actions.errors import DestinationUnavailable
from shared.actions.models import DeliveryOutcome, DeliveryStatus, FailureKind, PlannedAction
from shared.actions.retrying import Settlement, circuit_open_reason
from shared.log_fields import log_ids

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name


def outcome_from(action: PlannedAction, settlement: Settlement, *, what: str) -> DeliveryOutcome:
    """``what`` names the kind of request in the log line (``journey entry``, ``rowset row``...)."""
    if settlement.delivered:
        return logged(
            DeliveryOutcome(action, DeliveryStatus.DELIVERED, settlement.attempts, response_id=settlement.response_id),
            what=what,
        )
    return failed(
        action,
        settlement.failure or FailureKind.TRANSIENT,
        settlement.reason,
        attempts=settlement.attempts,
        what=what,
    )


def failed(
    action: PlannedAction, failure: FailureKind, reason: str | None, *, attempts: int, what: str
) -> DeliveryOutcome:
    outcome = DeliveryOutcome(
        action, DeliveryStatus.FAILED, attempts, reason=reason or "delivery failed", failure=failure
    )
    return logged(outcome, what=what)


def logged(outcome: DeliveryOutcome, *, what: str) -> DeliveryOutcome:
    delivered = outcome.status is DeliveryStatus.DELIVERED
    logger.log(
        logging.DEBUG if delivered else logging.WARNING,
        "%s action=%s rule=%s status=%s attempts=%d%s",
        what,
        outcome.action.key,
        outcome.action.rule_id,
        outcome.status.value,
        outcome.attempts,
        f" reason={outcome.reason}" if outcome.reason else "",
        extra=log_ids(action_key=outcome.action.key, rule_id=outcome.action.rule_id, event_id=outcome.action.event_id),
    )
    return outcome


def in_action_order(
    outcomes: list[DeliveryOutcome | None],
    groups: Sequence[Sequence[int]],
    results: Sequence[Sequence[DeliveryOutcome]],
) -> list[DeliveryOutcome]:
    """Put each group's results (the actions at those indexes, in order) into ``outcomes`` — which
    may already hold outcomes decided without a request — and return them in action order."""
    for indexes, group_outcomes in zip(groups, results, strict=True):
        for index, outcome in zip(indexes, group_outcomes, strict=True):
            outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def log_summary(destination: str, outcomes: Sequence[DeliveryOutcome]) -> None:
    if not outcomes:
        return
    counts = Counter(outcome.status.value for outcome in outcomes)
    attempts = sum(outcome.attempts for outcome in outcomes)
    logger.info("%s batch: %s, %d HTTP attempts", destination, dict(sorted(counts.items())), attempts)


def raise_if_destination_down(breaker: CircuitBreaker, outcomes: Sequence[DeliveryOutcome]) -> None:
    """The whole-batch rule shared by every deliverer (see ``DestinationUnavailable``): the breaker
    of ``breaker.destination`` is open and some of that destination's actions failed retryably.
    The error carries every outcome of ``outcomes`` (all destinations)."""
    if breaker.state is not BreakerState.OPEN:
        return
    own = [outcome for outcome in outcomes if outcome.action.destination == breaker.destination]
    retryable = sum(1 for outcome in own if outcome.retryable)
    if retryable == 0:
        return
    delivered = sum(1 for outcome in own if outcome.failure is None)
    message = (
        f"destination {breaker.destination} is down: {retryable} of {len(own)} action(s) not "
        f"delivered ({delivered} delivered); {circuit_open_reason(breaker)}"
    )
    logger.error("%s", message)
    raise DestinationUnavailable(
        message, destination=breaker.destination, retry_after=breaker.retry_after(), outcomes=outcomes
    )
