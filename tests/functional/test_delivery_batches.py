"""Batches through MarketingCloudDeliverer and the stub: bounded concurrency, exactly-once, order."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest

from shared.actions import (
    ActionKind,
    DeliveryOutcome,
    DeliveryStatus,
    MarketingCloudConfig,
    MarketingCloudDeliverer,
    PlannedAction,
)
from squall.stub import MarketingCloudStub

JOURNEY_KEY = "APIEvent-batch-test"
CLIENT_ID = "batch-test-client"
CLIENT_SECRET = "obviously-fake-secret-batch"


@pytest.fixture
def stub() -> Iterator[MarketingCloudStub]:
    with MarketingCloudStub(
        event_definition_keys={JOURNEY_KEY}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as running:
        yield running


def batch(size: int, *, prefix: str = "contact") -> list[PlannedAction]:
    return [
        PlannedAction(
            key=f"rule-7:v3:event-{prefix}-{n}:journey_entry",
            kind=ActionKind.JOURNEY_ENTRY,
            rule_id="rule-7",
            event_id=f"event-{prefix}-{n}",
            entity=f"{prefix}-{n}@contoso.example",
            contact_key=f"{prefix}-{n}@contoso.example",
            event_definition_key=JOURNEY_KEY,
            data={"sequence": n},
        )
        for n in range(size)
    ]


def config_for(
    stub: MarketingCloudStub, *, max_concurrency: int, max_attempts: int = 5
) -> MarketingCloudConfig:
    return MarketingCloudConfig(
        auth_base_url=stub.auth_base_url,
        rest_base_url=stub.rest_base_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        max_concurrency=max_concurrency,
        max_attempts=max_attempts,
        backoff_base_s=0.001,
        backoff_max_s=0.01,
    )


def deliver(config: MarketingCloudConfig, *batches: Sequence[PlannedAction]) -> list[list[DeliveryOutcome]]:
    async def scenario() -> list[list[DeliveryOutcome]]:
        async with MarketingCloudDeliverer(config) as sender:
            return [await sender.deliver(actions) for actions in batches]

    return asyncio.run(scenario())


def test_200_actions_are_delivered_once_each_within_the_concurrency_bound(stub: MarketingCloudStub) -> None:
    # GIVEN 200 journey entries, a limit of 8 in flight, and a stub that takes 5 ms per event
    stub.set_latency(0.005)
    actions = batch(200)
    # WHEN delivered as one batch
    [outcomes] = deliver(config_for(stub, max_concurrency=8), actions)
    # THEN every action is DELIVERED once, in input order, with the stub's own instance ids
    assert [o.action for o in outcomes] == actions
    assert {o.status for o in outcomes} == {DeliveryStatus.DELIVERED}
    received = stub.received()
    assert Counter(r["ContactKey"] for r in received) == Counter(a.contact_key for a in actions)
    assert {o.response_id for o in outcomes} == {r["eventInstanceId"] for r in received}
    # AND never more than 8 requests were in flight, over at most 8 kept-alive connections, one token
    assert stub.peak_concurrent_event_requests <= 8
    assert stub.connections_opened <= 8
    assert stub.token_requests == 1


def test_faults_in_the_middle_of_a_batch_lose_nothing_and_send_nothing_twice(
    stub: MarketingCloudStub,
) -> None:
    # GIVEN a stub that answers 30 503s, 10 throttles and 5 gateway errors among the first requests
    stub.fail_next(503, 30)
    stub.fail_next(429, 10, retry_after=0)
    stub.fail_next(502, 5)
    actions = batch(200)
    # WHEN the batch is delivered, with more attempts allowed than there are faults (no action can run out)
    [outcomes] = deliver(config_for(stub, max_concurrency=16, max_attempts=50), actions)
    # THEN all 200 arrive exactly once, and the 45 faults cost exactly 45 extra requests
    assert {o.status for o in outcomes} == {DeliveryStatus.DELIVERED}
    contact_keys = [r["ContactKey"] for r in stub.received()]
    assert sorted(contact_keys) == sorted(a.contact_key for a in actions)
    assert stub.event_requests == 245
    assert sum(o.attempts for o in outcomes) == 245


def test_one_bad_action_does_not_affect_the_rest_of_the_batch(stub: MarketingCloudStub) -> None:
    # GIVEN a batch where one action targets an unknown journey and one has no contact key
    actions = batch(5)
    actions[1] = PlannedAction(**{**_fields(actions[1]), "event_definition_key": "APIEvent-missing"})
    actions[3] = PlannedAction(**{**_fields(actions[3]), "contact_key": ""})
    # WHEN delivered
    [outcomes] = deliver(config_for(stub, max_concurrency=4), actions)
    # THEN exactly those two FAILED, the others DELIVERED
    statuses = [o.status for o in outcomes]
    assert statuses == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.DELIVERED,
    ]
    assert len(stub.received()) == 3


def test_a_deliverer_reuses_its_token_across_batches(stub: MarketingCloudStub) -> None:
    # GIVEN one deliverer  WHEN it delivers three batches  THEN one token serves them all
    results = deliver(config_for(stub, max_concurrency=4), batch(3, prefix="a"), batch(3, prefix="b"), [])
    assert [len(outcomes) for outcomes in results] == [3, 3, 0]
    assert stub.token_requests == 1
    assert len(stub.received()) == 6


def _fields(action: PlannedAction) -> dict[str, object]:
    return {name: getattr(action, name) for name in PlannedAction.__dataclass_fields__}


def test_a_deliverer_survives_successive_event_loops(stub: MarketingCloudStub) -> None:
    # GIVEN a deliverer created outside any loop, as a host's composition root may do
    sender = MarketingCloudDeliverer(config_for(stub, max_concurrency=2))
    # WHEN two batches run in two asyncio.run calls (contended, so the limiter is really used),
    # and the deliverer is closed in a third
    first = asyncio.run(sender.deliver(batch(10, prefix="a")))
    second = asyncio.run(sender.deliver(batch(10, prefix="b")))
    asyncio.run(sender.aclose())
    # THEN both batches are delivered and the cached token carried over
    assert {o.status for o in first + second} == {DeliveryStatus.DELIVERED}
    assert len(stub.received()) == 20
    assert stub.token_requests == 1
