"""CircuitBreaker: opens after N consecutive failed deliveries, fails fast, probes, closes."""

from __future__ import annotations

import asyncio

import pytest

from shared.actions.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admitted(breaker: CircuitBreaker) -> bool:
    return asyncio.run(breaker.admit())


def test_breaker_opens_after_n_consecutive_failures_and_refuses_at_once() -> None:
    # GIVEN a breaker that opens after 3 consecutive failures
    clock = Clock()
    breaker = CircuitBreaker("sfmc", failure_threshold=3, reset_after_s=30, clock=clock)
    # WHEN two deliveries fail  THEN it still admits
    breaker.record_failure()
    breaker.record_failure()
    assert admitted(breaker)
    # WHEN a third fails  THEN it is open, refuses, and says when it will probe
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not admitted(breaker)
    clock.now += 10
    assert breaker.retry_after() == pytest.approx(20)


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("sfmc", failure_threshold=3, clock=Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_throttling_and_auth_results_neither_open_nor_reset() -> None:
    breaker = CircuitBreaker("sfmc", failure_threshold=2, clock=Clock())
    breaker.record_failure()
    breaker.record_neutral()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_after_the_reset_time_one_probe_goes_and_its_success_closes_the_circuit() -> None:
    # GIVEN an open breaker whose reset time has passed
    clock = Clock()
    breaker = CircuitBreaker("sfmc", failure_threshold=1, reset_after_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 5

    async def scenario() -> list[bool]:
        # WHEN three deliveries ask at once while the first (the probe) succeeds
        async def probe() -> bool:
            async with breaker.admission() as ok:
                await asyncio.sleep(0)
                breaker.record_success()
                return ok

        async def follower() -> bool:
            async with breaker.admission() as ok:
                return ok

        return list(await asyncio.gather(probe(), follower(), follower()))

    # THEN the followers waited for the probe and went through after it closed the circuit
    assert asyncio.run(scenario()) == [True, True, True]
    assert breaker.state is BreakerState.CLOSED


def test_a_failed_probe_opens_the_circuit_again_and_the_waiting_deliveries_are_refused() -> None:
    clock = Clock()
    breaker = CircuitBreaker("sfmc", failure_threshold=1, reset_after_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 6

    async def scenario() -> list[bool]:
        async def probe() -> bool:
            async with breaker.admission() as ok:
                await asyncio.sleep(0)
                breaker.record_failure()
                return ok

        async def follower() -> bool:
            async with breaker.admission() as ok:
                return ok

        return list(await asyncio.gather(probe(), follower()))

    assert asyncio.run(scenario()) == [True, False]
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after() == pytest.approx(5)


def test_a_probe_that_records_nothing_lets_the_next_delivery_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("sfmc", failure_threshold=1, reset_after_s=1, clock=clock)
    breaker.record_failure()
    clock.now += 2

    async def scenario() -> list[bool]:
        async def silent_probe() -> bool:
            async with breaker.admission() as ok:
                await asyncio.sleep(0)
                return ok  # e.g. the action was not sendable: no verdict about the destination

        async def next_probe() -> bool:
            async with breaker.admission() as ok:
                breaker.record_success()
                return ok

        return list(await asyncio.gather(silent_probe(), next_probe()))

    assert asyncio.run(scenario()) == [True, True]
    assert breaker.state is BreakerState.CLOSED
