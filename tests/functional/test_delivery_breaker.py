"""Marketing Cloud down for everyone: the breaker opens, fails fast, and the batch raises DestinationUnavailable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.actions import DeliveryStatus, DestinationUnavailable, FailureKind, PlannedAction
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import ManualClock, config_for_stub, journey_entries

ONE_AT_A_TIME_BREAKER_AFTER_3 = {
    "max_concurrency": 1,
    "max_attempts": 2,
    "breaker_failure_threshold": 3,
    "breaker_reset_s": 30,
}


def config_for(stub: MarketingCloudStub, **overrides: Any) -> MarketingCloudConfig:
    return config_for_stub(stub, **{**ONE_AT_A_TIME_BREAKER_AFTER_3, **overrides})


def actions(count: int, prefix: str = "c") -> list[PlannedAction]:
    return journey_entries(count, prefix=prefix, rule_id="rule-breaker")


def test_breaker_opens_after_n_failed_deliveries_fails_fast_and_raises_for_the_batch(
    stub: MarketingCloudStub,
) -> None:
    # GIVEN one delivered action, then Marketing Cloud answering 503 to everything
    clock = ManualClock()
    deliverer = MarketingCloudDeliverer(config_for(stub), clock=clock)
    batch = actions(10)

    async def scenario() -> DestinationUnavailable:
        async with deliverer:
            await deliverer.deliver(actions(1, prefix="before"))
            stub.fail_next(503, 1000)
            with pytest.raises(DestinationUnavailable) as raised:
                await deliverer.deliver(batch)
            return raised.value

    # WHEN a batch of 10 is delivered one at a time, 2 attempts each, breaker threshold 3
    error = asyncio.run(scenario())
    # THEN only the first 3 actions were tried (2 requests each); the other 7 failed fast, unsent
    assert stub.event_requests == 1 + 3 * 2
    tried, refused = error.outcomes[:3], error.outcomes[3:]
    assert [(o.failure, o.attempts) for o in tried] == [(FailureKind.TRANSIENT, 2)] * 3
    assert [(o.failure, o.attempts) for o in refused] == [(FailureKind.CIRCUIT_OPEN, 0)] * 7
    assert all("circuit open for destination sfmc" in (o.reason or "") for o in refused)
    # AND the whole-batch error names the destination, carries every outcome and the breaker's wait
    assert error.destination == "sfmc"
    assert [o.action for o in error.outcomes] == batch
    assert error.retry_after == pytest.approx(30)
    assert all(o.retryable for o in error.outcomes)


def test_open_breaker_refuses_the_next_batch_without_a_request_then_probes_after_reset(
    stub: MarketingCloudStub,
) -> None:
    clock = ManualClock()
    deliverer = MarketingCloudDeliverer(config_for(stub), clock=clock)

    async def scenario() -> tuple[DestinationUnavailable, list[Any]]:
        async with deliverer:
            stub.fail_next(503, 6)  # exactly enough to open the breaker: 3 actions x 2 attempts
            with pytest.raises(DestinationUnavailable):
                await deliverer.deliver(actions(3, prefix="a"))
            clock.now += 10  # GIVEN the breaker is open, 20 s before its probe
            requests_before = stub.event_requests
            with pytest.raises(DestinationUnavailable) as refused:
                await deliverer.deliver(actions(4, prefix="b"))  # WHEN another batch comes
            assert stub.event_requests == requests_before  # THEN not one request was made
            clock.now += 21  # WHEN the reset time has passed and Marketing Cloud is back
            return refused.value, await deliverer.deliver(actions(4, prefix="c"))

    refused, recovered = asyncio.run(scenario())
    assert refused.retry_after == pytest.approx(20)
    assert {o.failure for o in refused.outcomes} == {FailureKind.CIRCUIT_OPEN}
    # THEN the probe closed the circuit and the whole batch was delivered
    assert {o.status for o in recovered} == {DeliveryStatus.DELIVERED}


def test_delivered_outcomes_travel_on_the_whole_batch_error(stub: MarketingCloudStub) -> None:
    # GIVEN a batch of 8 where Marketing Cloud accepts 2 requests and then goes down
    batch = actions(8)
    stub.fail_next(503, 100, after=2)

    async def scenario() -> DestinationUnavailable:
        async with MarketingCloudDeliverer(config_for(stub, max_attempts=1), clock=ManualClock()) as deliverer:
            with pytest.raises(DestinationUnavailable) as raised:
                await deliverer.deliver(batch)
            return raised.value

    # WHEN delivered  THEN the whole-batch error carries the 2 that DID get through, and they are the
    # ones the stub accepted; the other 6 are retryable failures (3 tried, 3 refused by the breaker)
    error = asyncio.run(scenario())
    assert [o.action for o in error.outcomes] == batch
    delivered = [o for o in error.outcomes if o.status is DeliveryStatus.DELIVERED]
    assert [o.action.key for o in delivered] == [r["idempotency_key"] for r in stub.received()]
    assert len(delivered) == 2
    assert [o.failure for o in error.outcomes[2:]] == [FailureKind.TRANSIENT] * 3 + [FailureKind.CIRCUIT_OPEN] * 3


def test_wrong_credentials_are_a_per_action_auth_failure_not_a_whole_batch_error(
    stub: MarketingCloudStub,
) -> None:
    # GIVEN a wrong client secret and a breaker that would open after 1 failed delivery
    config = config_for(stub, client_secret="wrong-fake-secret", breaker_failure_threshold=1)

    async def scenario() -> list[Any]:
        async with MarketingCloudDeliverer(config) as deliverer:
            return await deliverer.deliver(actions(5))

    # WHEN a batch is delivered  THEN each action FAILED as AUTH (dead-letter, replay once fixed); no raise
    outcomes = asyncio.run(scenario())
    assert {(o.status, o.failure) for o in outcomes} == {(DeliveryStatus.FAILED, FailureKind.AUTH)}
    assert not any(o.retryable for o in outcomes)
