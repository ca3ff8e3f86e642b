"""A circuit breaker per destination: stop sending to a destination that is down for everyone.

The breaker counts *deliveries* (one action, or one batch request), not HTTP attempts: a failure
is a delivery that still failed for an outage reason (5xx, 408, transport error) after all its
retries; a success is any answer showing the destination is alive (delivered, or a 4xx data
error). Throttling and credential problems are neither.

CLOSED  -- ``failure_threshold`` consecutive failures -->  OPEN
OPEN    -- ``reset_after_s`` elapsed -->  HALF_OPEN: one delivery (the probe) is let through,
           the others wait for its result
HALF_OPEN -- probe succeeds --> CLOSED;  probe fails --> OPEN again (for ``reset_after_s``)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import StrEnum

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Admits deliveries to one destination; ``await admit()`` is False while the circuit is open."""

    def __init__(
        self,
        destination: str,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.destination = destination
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._consecutive_failures = 0
        self._opened_at: float | None = None
        self._probe_done: asyncio.Event | None = None  # set while a half-open probe is in flight

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.reset_after_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def is_open(self) -> bool:
        """True while deliveries are refused outright (not in the half-open probing phase)."""
        return self.state is BreakerState.OPEN

    def retry_after(self) -> float:
        """Seconds until the breaker lets a probe through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_after_s - self._clock())

    async def admit(self) -> bool:
        """May one delivery go out now? Prefer ``async with breaker.admission()``, which also ends a
        probe that settled without a verdict."""
        admitted, _ = await self._admit()
        return admitted

    @asynccontextmanager
    async def admission(self) -> AsyncIterator[bool]:
        """``async with breaker.admission() as admitted:`` — in the half-open phase the first caller
        becomes the probe and later callers wait for its result."""
        admitted, probe = await self._admit()
        try:
            yield admitted
        finally:
            if probe is not None and self._probe_done is probe:
                self._end_probe()  # the probe recorded nothing (e.g. not sent): let the next one try

    async def _admit(self) -> tuple[bool, asyncio.Event | None]:
        while True:
            state = self.state
            if state is BreakerState.CLOSED:
                return True, None
            if state is BreakerState.OPEN:
                return False, None
            if self._probe_done is None:
                self._probe_done = asyncio.Event()
                logger.info("circuit for %s half-open: sending one probe delivery", self.destination)
                return True, self._probe_done
            await self._probe_done.wait()

    def record_success(self) -> None:
        if self._opened_at is not None:
            logger.info("circuit for %s closed: the destination answers again", self.destination)
        self._consecutive_failures = 0
        self._opened_at = None
        self._end_probe()

    def record_failure(self) -> None:
        self._consecutive_failures += 1
        probing = self._probe_done is not None
        if probing or (self._opened_at is None and self._consecutive_failures >= self.failure_threshold):
            self._opened_at = self._clock()
            logger.warning(
                "circuit for %s open after %d consecutive failed deliveries; next probe in %.0f s",
                self.destination,
                self._consecutive_failures,
                self.reset_after_s,
            )
        self._end_probe()

    def record_neutral(self) -> None:
        """The delivery ended without telling whether the destination is up (throttled, auth)."""
        self._end_probe()

    def forget_probe(self) -> None:
        """Drop a probe that belonged to an event loop that has ended (the next caller probes)."""
        self._probe_done = None

    def _end_probe(self) -> None:
        probe, self._probe_done = self._probe_done, None
        if probe is not None:
            probe.set()
