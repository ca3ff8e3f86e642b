"""Retrying one delivery (one action, or one batch request) the way every destination needs it.

An attempt returns an ``AttemptResult`` (never raises). ``settle()`` repeats attempts until the
delivery is settled: delivered, refused for good, or out of attempts. 429, 408, 5xx and
transport errors are retried with exponential backoff and full jitter, or after the server's
``Retry-After`` when it gave one; a 401 is retried at once (the attempt dropped its token), but
a second 401 in a row (refused even with a fresh token) is final, as is anything else. The
destination's circuit breaker learns the result, and an open breaker stops further retries.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from shared.actions.breaker import CircuitBreaker
from shared.actions.models import FailureKind

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry one delivery."""

    max_attempts: int = 5
    backoff_base_s: float = 0.2
    backoff_max_s: float = 10.0

    def backoff_delay(self, attempt: int, *, jitter: float) -> float:
        """Full jitter: ``jitter`` (0..1) times the exponential ceiling for this attempt (1-based)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return ceiling * jitter


class RetrySettings(Protocol):
    """What a destination's configuration says about retrying and its circuit breaker."""

    @property
    def max_attempts(self) -> int: ...
    @property
    def backoff_base_s(self) -> float: ...
    @property
    def backoff_max_s(self) -> float: ...
    @property
    def breaker_failure_threshold(self) -> int: ...
    @property
    def breaker_reset_s(self) -> float: ...


def guarded_retrier(
    destination: str,
    settings: RetrySettings,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    jitter: Callable[[], float],
) -> tuple[Retrier, CircuitBreaker]:
    """A retrier with the destination's policy, and the destination's own circuit breaker it reports to."""
    breaker = CircuitBreaker(
        destination,
        failure_threshold=settings.breaker_failure_threshold,
        reset_after_s=settings.breaker_reset_s,
        clock=clock,
    )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        backoff_base_s=settings.backoff_base_s,
        backoff_max_s=settings.backoff_max_s,
    )
    return Retrier(policy, sleep=sleep, jitter=jitter, breaker=breaker), breaker


class AttemptVerdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: 5xx, 408, transport error (``throttled`` tells 429 apart)
    UNAUTHORIZED = "unauthorized"  # 401 on the call: the token was dropped, one immediate retry
    CREDENTIALS = "credentials"  # the token endpoint refused the client credentials
    PERMANENT = "permanent"  # the destination refused the data


@dataclass(frozen=True, slots=True)
class AttemptResult:
    verdict: AttemptVerdict
    reason: str | None = None
    response_id: str | None = None
    retry_after: float | None = None
    throttled: bool = False  # a 429: the destination is up but asks us to slow down
    payload: Any = None  # the parsed JSON answer of a delivered attempt (batch endpoints read it)


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one delivery ended: ``failure`` is None when delivered."""

    attempts: int
    failure: FailureKind | None
    reason: str | None = None
    response_id: str | None = None
    payload: Any = None

    @property
    def delivered(self) -> bool:
        return self.failure is None


Attempt = Callable[[], Awaitable[AttemptResult]]


class Retrier:
    """Runs ``settle(attempt)`` with one policy, one breaker and injectable sleep/jitter."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[object]],
        jitter: Callable[[], float],
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.policy = policy
        self.breaker = breaker
        self._sleep = sleep
        self._jitter = jitter

    async def settle(self, attempt: Attempt, *, label: str) -> Settlement:
        attempts = 0
        last = AttemptResult(AttemptVerdict.RETRY, reason="no attempt made")
        while attempts < self.policy.max_attempts:
            attempts += 1
            previous, last = last, await attempt()
            if last.verdict is AttemptVerdict.DELIVERED:
                self._alive()
                return Settlement(attempts, None, response_id=last.response_id, payload=last.payload)
            if last.verdict is AttemptVerdict.UNAUTHORIZED and previous.verdict is not AttemptVerdict.UNAUTHORIZED:
                continue  # the stale token was dropped: retry at once with a new one
            if last.verdict is not AttemptVerdict.RETRY:
                return self._final(last, attempts)
            if attempts >= self.policy.max_attempts:
                break
            delay = self._retry_delay(last, attempts)
            if delay is None:
                self._neutral()
                reason = f"{last.reason}; Retry-After {last.retry_after:.0f} s exceeds backoff_max_s"
                return Settlement(attempts, _retry_failure(last), reason=reason)
            logger.info("retrying %s in %.2f s: %s", label, delay, last.reason)
            await self._sleep(delay)
            if self.breaker is not None and self.breaker.is_open():
                reason = f"{last.reason}; {circuit_open_reason(self.breaker)}"
                return Settlement(attempts, FailureKind.CIRCUIT_OPEN, reason=reason)
        if last.throttled:
            self._neutral()
        elif self.breaker is not None:
            self.breaker.record_failure()
        reason = f"gave up after {attempts} attempts: {last.reason}"
        return Settlement(attempts, _retry_failure(last), reason=reason)

    def _final(self, last: AttemptResult, attempts: int) -> Settlement:
        if last.verdict is AttemptVerdict.PERMANENT:
            self._alive()
            return Settlement(attempts, FailureKind.PERMANENT, reason=last.reason)
        self._neutral()  # refused credentials, or a 401 even with a fresh token
        return Settlement(attempts, FailureKind.AUTH, reason=last.reason)

    def _retry_delay(self, result: AttemptResult, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None when the server asks for longer than we wait."""
        if result.retry_after is None:
            return self.policy.backoff_delay(attempt, jitter=self._jitter())
        if result.retry_after > self.policy.backoff_max_s:
            return None
        return result.retry_after

    def _alive(self) -> None:
        if self.breaker is not None:
            self.breaker.record_success()

    def _neutral(self) -> None:
        if self.breaker is not None:
            self.breaker.record_neutral()


def circuit_open_reason(breaker: CircuitBreaker) -> str:
    return (
        f"circuit open for destination {breaker.destination} after {breaker.consecutive_failures} "
        f"consecutive failed deliveries (next probe in {breaker.retry_after():.0f} s)"
    )


def _retry_failure(last: AttemptResult) -> FailureKind:
    return FailureKind.THROTTLED if last.throttled else FailureKind.TRANSIENT
