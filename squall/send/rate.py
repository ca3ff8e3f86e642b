"""A token bucket that holds `squall send` to ``--rate`` events per second on average."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate_per_s`` tokens a second, up to ``capacity`` saved (default: one second's worth).

    ``acquire(n)`` takes ``n`` tokens and sleeps off any debt, so a batch larger than the bucket is
    allowed but the following sends wait for it: the average stays at the rate. ``clock`` and
    ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        *,
        rate_per_s: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate_per_s
        self._capacity = capacity if capacity is not None else rate_per_s
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._capacity
        self._last = clock()

    def acquire(self, count: int = 1) -> float:
        """Take ``count`` tokens; returns the seconds slept (0.0 when tokens were available)."""
        self._refill()
        self._tokens -= count
        if self._tokens >= 0:
            return 0.0
        wait_s = -self._tokens / self._rate
        self._sleep(wait_s)
        self._refill()
        return wait_s

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
