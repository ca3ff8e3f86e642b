"""The --rate token bucket, on a fake clock (no real sleeping, no timing assertions)."""

from __future__ import annotations

import pytest

from squall.send.rate import TokenBucket


class FakeClock:
    """A clock that only moves when someone sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _bucket(rate: float, clock: FakeClock, capacity: float | None = None) -> TokenBucket:
    return TokenBucket(rate_per_s=rate, capacity=capacity, clock=clock, sleep=clock.sleep)


def test_a_full_bucket_lets_one_second_of_events_through_at_once() -> None:
    # GIVEN a fresh bucket of 10 events/s  WHEN 10 events are taken  THEN nobody waits
    clock = FakeClock()
    assert _bucket(10, clock).acquire(10) == 0.0
    assert clock.slept == []


def test_taking_beyond_the_tokens_sleeps_exactly_the_debt() -> None:
    # GIVEN an empty bucket of 10 events/s  WHEN 5 more are taken  THEN it sleeps half a second
    clock = FakeClock()
    bucket = _bucket(10, clock)
    bucket.acquire(10)
    assert bucket.acquire(5) == pytest.approx(0.5)
    assert clock.slept == [pytest.approx(0.5)]


def test_time_passing_refills_the_bucket_up_to_capacity() -> None:
    # GIVEN an emptied bucket  WHEN an hour passes  THEN only `capacity` tokens are saved up
    clock = FakeClock()
    bucket = _bucket(10, clock, capacity=20)
    bucket.acquire(20)
    clock.now += 3600
    assert bucket.acquire(20) == 0.0
    assert bucket.acquire(10) == pytest.approx(1.0)


def test_the_long_run_average_is_the_rate() -> None:
    # GIVEN 50 events/s  WHEN 100 batches of 10 events are sent back to back
    clock = FakeClock()
    bucket = _bucket(50, clock)
    start = clock.now
    for _ in range(100):
        bucket.acquire(10)
    # THEN 1000 events took (1000 - the 50 saved at start) / 50 seconds of fake time
    assert clock.now - start == pytest.approx((1000 - 50) / 50)


def test_a_batch_larger_than_the_bucket_is_allowed_and_paid_for() -> None:
    # GIVEN 2 events/s  WHEN one batch of 10 is taken  THEN it goes, after sleeping off the 8-token debt
    clock = FakeClock()
    assert _bucket(2, clock).acquire(10) == pytest.approx(4.0)


def test_a_non_positive_rate_is_rejected() -> None:
    # GIVEN rate 0  WHEN a bucket is made  THEN ValueError
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate_per_s=0)
