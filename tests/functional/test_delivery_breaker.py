"""Marketing Cloud down for everyone: the breaker opens, fails fast, and the batch raises DestinationUnavailable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from shared.actions import (
    ActionKind,
    DeliveryStatus,
    DestinationUnavailable,
    FailureKind,
    MarketingCloudConfig,
    MarketingCloudDeliverer,
    PlannedAction,
)
from squall.stub import MarketingCloudStub

JOURNEY_KEY = "APIEvent-breaker-test"
CLIENT_ID = "breaker-test-client"
CLIENT_SECRET = "obviously-fake-secret-breaker"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stub() -> Iterator[MarketingCloudStub]:
    with MarketingCloudStub(
        event_definition_keys={JOURNEY_KEY}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as running:
        yield running


def config_for(stub: MarketingCloudStub, **overrides: Any) -> MarketingCloudConfig:
    options: dict[str, Any] = {
        "auth_base_url": stub.auth_base_url,
        "rest_base_url": stub.rest_base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "max_concurrency": 1,
        "max_attempts": 2,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.01,
        "breaker_failure_threshold": 3,
        "breaker_reset_s": 30,
    }
    options.update(overrides)
    return MarketingCloudConfig(**options)


def actions(count: int, prefix: str = "c") -> list[PlannedAction]:
    return [
        PlannedAction(
            key=f"breaker-{prefix}-{n}",
            kind=ActionKind.JOURNEY_ENTRY,
            rule_id="rule-breaker",
            event_id=f"event-{prefix}-{n}",
            entity=f"{prefix}-{n}",
            contact_key=f"{prefix}-{n}",
            event_definition_key=JOURNEY_KEY,
        )
        for n in range(count)
    ]


def test_breaker_opens_after_n_failed_deliveries_fails_fast_and_raises_for_the_batch(
    stub: MarketingCloudStub,
) -> None:
    # GIVEN one delivered action, then Marketing Cloud answering 503 to everything
    clock = Clock()
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
    clock = Clock()
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
        async with MarketingCloudDeliverer(config_for(stub, max_attempts=1), clock=Clock()) as deliverer:
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
