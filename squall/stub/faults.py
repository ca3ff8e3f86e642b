"""Faults the stub injects: queued ones (``fail_next``) first, then random ones at the given rates.

Random faults hit the REST endpoints (journey events, async batches, rowsets) and the webhook
receiver, never the token
endpoint: an ``error_rate`` share of requests answers 500 or 503, a ``throttle_rate`` share
answers 429 — half of them the documented 50100 with ``Retry-After``, half the 50200 without.
A seed makes the sequence of draws repeatable. Thread-safe (the caller holds the stub's lock).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Literal

FaultTarget = Literal["events", "async", "rowset", "webhook", "token"]
REST_TARGETS: tuple[FaultTarget, ...] = ("events", "async", "rowset", "webhook")


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: int | None


@dataclass(frozen=True, slots=True)
class FaultRates:
    """What ``squall stub --error-rate R --throttle-rate R --latency-ms N --token-ttl S`` sets."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    latency_ms: int = 0
    throttle_retry_after_s: int = 1

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.throttle_rate > 1.0:
            raise ValueError("error_rate + throttle_rate must not exceed 1")
        if self.latency_ms < 0 or self.throttle_retry_after_s < 0:
            raise ValueError("latency_ms and throttle_retry_after_s must not be negative")


_PASS = Fault(0, None)  # a queued "answer normally"


class FaultInjector:
    """Decides, request by request, whether to answer with a fault instead of the real answer."""

    def __init__(self, rates: FaultRates, *, seed: int | None = None) -> None:
        self.rates = rates
        self._random = random.Random(seed)
        self._queued: dict[FaultTarget, deque[Fault]] = {target: deque() for target in (*REST_TARGETS, "token")}
        self.injected = 0

    def queue(self, target: FaultTarget, fault: Fault, n: int, *, after: int = 0) -> None:
        """Answer the ``n`` requests that follow the next ``after`` ones with ``fault``."""
        self._queued[target].extend(_PASS for _ in range(after))
        self._queued[target].extend(fault for _ in range(n))

    def next_fault(self, target: FaultTarget) -> Fault | None:
        queued = self._queued[target]
        fault = queued.popleft() if queued else self._random_fault(target)
        if fault is _PASS:
            return None
        if fault is not None:
            self.injected += 1
        return fault

    def _random_fault(self, target: FaultTarget) -> Fault | None:
        if target not in REST_TARGETS or (self.rates.error_rate == 0 and self.rates.throttle_rate == 0):
            return None
        draw = self._random.random()
        if draw < self.rates.error_rate:
            return Fault(self._random.choice((500, 503)), None)
        if draw < self.rates.error_rate + self.rates.throttle_rate:
            with_hint = self._random.random() < 0.5
            return Fault(429, self.rates.throttle_retry_after_s if with_hint else None)
        return None
