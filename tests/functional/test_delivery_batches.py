"""Batches through MarketingCloudDeliverer and the stub: bounded concurrency, exactly-once, order."""

from __future__ import annotations

import asyncio
from collections import Counter

from shared.actions import DeliveryStatus
from shared.actions.sfmc import MarketingCloudDeliverer
from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import config_for_stub, deliver_batches, journey_entries, with_fields


def test_200_actions_are_delivered_once_each_within_the_concurrency_bound(stub: MarketingCloudStub) -> None:
    # GIVEN 200 journey entries, a limit of 8 in flight, and a stub that takes 5 ms per event
    stub.set_latency(0.005)
    actions = journey_entries(200)
    # WHEN delivered as one batch
    [outcomes] = deliver_batches(config_for_stub(stub, max_concurrency=8), actions)
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
    actions = journey_entries(200)
    # WHEN the batch is delivered, with more attempts allowed than there are faults (no action can run out)
    [outcomes] = deliver_batches(config_for_stub(stub, max_concurrency=16, max_attempts=50), actions)
    # THEN all 200 arrive exactly once, and the 45 faults cost exactly 45 extra requests
    assert {o.status for o in outcomes} == {DeliveryStatus.DELIVERED}
    contact_keys = [r["ContactKey"] for r in stub.received()]
    assert sorted(contact_keys) == sorted(a.contact_key for a in actions)
    assert stub.event_requests == 245
    assert sum(o.attempts for o in outcomes) == 245


def test_one_bad_action_does_not_affect_the_rest_of_the_batch(stub: MarketingCloudStub) -> None:
    # GIVEN a batch where one action targets an unknown journey and one has no contact key
    actions = journey_entries(5)
    actions[1] = with_fields(actions[1], event_definition_key="APIEvent-missing")
    actions[3] = with_fields(actions[3], contact_key="")
    # WHEN delivered
    [outcomes] = deliver_batches(config_for_stub(stub, max_concurrency=4), actions)
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
    batches = [journey_entries(3, prefix="a"), journey_entries(3, prefix="b"), []]
    results = deliver_batches(config_for_stub(stub, max_concurrency=4), *batches)
    assert [len(outcomes) for outcomes in results] == [3, 3, 0]
    assert stub.token_requests == 1
    assert len(stub.received()) == 6


def test_a_deliverer_survives_successive_event_loops(stub: MarketingCloudStub) -> None:
    # GIVEN a deliverer created outside any loop, as a host's composition root may do
    sender = MarketingCloudDeliverer(config_for_stub(stub, max_concurrency=2))
    # WHEN two batches run in two asyncio.run calls (contended, so the limiter is really used),
    # and the deliverer is closed in a third
    first = asyncio.run(sender.deliver(journey_entries(10, prefix="a")))
    second = asyncio.run(sender.deliver(journey_entries(10, prefix="b")))
    asyncio.run(sender.aclose())
    # THEN both batches are delivered and the cached token carried over
    assert {o.status for o in first + second} == {DeliveryStatus.DELIVERED}
    assert len(stub.received()) == 20
    assert stub.token_requests == 1
