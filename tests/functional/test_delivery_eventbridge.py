"""Amazon EventBridge over real HTTP: moto's server on a free port is the bus (moto's only job here).

What reached the bus is read back as a consumer would: a rule on the bus sends every event to an
SQS queue (``squall.eventbridge_local.LocalEventBridge``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from shared.actions import ActionKind, DeliveryStatus, FailureKind, PlannedAction
from shared.actions.eventbridge import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, EventBridgeDestination
from shared.actions.eventbridge.deliverer import EventBridgeDeliverer, EventsClient, boto3_client
from shared.actions.routing import open_action_sender
from shared.settings import Settings

pytest.importorskip("moto.server")
from squall.eventbridge_local import FaultyEventsClient, LocalEventBridge  # noqa: E402
from squall.stub import FaultRates  # noqa: E402


@pytest.fixture(scope="module")
def bus() -> Iterator[LocalEventBridge]:
    with LocalEventBridge(bus="squall-test", source="squall.test") as local:
        yield local


class CountingClient:
    """The real boto3 client, recording how many entries each PutEvents call carried."""

    def __init__(self, client: EventsClient) -> None:
        self._client = client
        self.calls: list[int] = []

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(len(Entries))
        return self._client.put_events(Entries=Entries)


def action(index: int, *, destination: str = "aws", data: dict[str, Any] | None = None) -> PlannedAction:
    return PlannedAction(
        key=f"eb-{index:04d}", kind=ActionKind.EVENTBRIDGE, rule_id="usage-to-aws", event_id=f"evt-{index}",
        entity=f"user{index}@contoso.com", contact_key=f"user{index}@contoso.com",
        data=data if data is not None else {"n": index}, destination=destination, detail_type="Squall usage",
    )  # fmt: skip


def deliver(destination: EventBridgeDestination, actions: list[PlannedAction], **options: Any) -> Any:
    async def run() -> Any:
        async with EventBridgeDeliverer({destination.name: destination}, **options) as deliverer:
            return await deliverer.deliver(actions)

    return asyncio.run(run())


def new_events(bus: LocalEventBridge, before: int) -> list[dict[str, Any]]:
    return bus.received()[before:]


def test_25_actions_land_once_each_in_calls_of_at_most_10(bus: LocalEventBridge) -> None:
    # GIVEN 25 actions for the bus
    destination = EventBridgeDestination(name="aws", **bus.destination_spec())
    counting: list[CountingClient] = []

    def factory(d: EventBridgeDestination) -> EventsClient:
        counting.append(CountingClient(boto3_client(d)))
        return counting[0]

    before = len(bus.received())
    # WHEN they are delivered
    outcomes = deliver(destination, [action(i) for i in range(25)], client_factory=factory)
    # THEN every one is delivered with EventBridge's event id, in calls of at most 10 entries
    assert [o.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 25
    assert all(o.response_id for o in outcomes)
    assert sorted(counting[0].calls) == [5, 10, 10]
    assert max(counting[0].calls) <= MAX_ENTRIES_PER_CALL
    # AND the bus got each once: source, detail type, and the detail with the idempotency key and data
    events = new_events(bus, before)
    assert sorted(e["detail"]["idempotency_key"] for e in events) == [f"eb-{i:04d}" for i in range(25)]
    first = next(e for e in events if e["detail"]["idempotency_key"] == "eb-0003")
    assert (first["source"], first["detail-type"]) == ("squall.test", "Squall usage")
    assert first["detail"]["data"] == {"n": 3} and first["detail"]["rule_id"] == "usage-to-aws"


def test_calls_stay_under_256_kb_and_an_oversized_event_is_refused_without_a_call(bus: LocalEventBridge) -> None:
    # GIVEN three ~100 KB events and one over 256 KB
    destination = EventBridgeDestination(name="aws", **bus.destination_spec())
    clients: list[CountingClient] = []

    def factory(d: EventBridgeDestination) -> EventsClient:
        clients.append(CountingClient(boto3_client(d)))
        return clients[0]

    big = [action(100 + i, data={"blob": "x" * 100_000}) for i in range(3)]
    huge = action(200, data={"blob": "y" * (MAX_REQUEST_BYTES + 1)})
    before = len(bus.received())
    # WHEN delivered
    outcomes = deliver(destination, [*big, huge], client_factory=factory)
    # THEN the three land in two calls (2 + 1: 256 KB per call), the huge one fails for good, unsent
    assert [o.status for o in outcomes[:3]] == [DeliveryStatus.DELIVERED] * 3
    assert sorted(clients[0].calls) == [1, 2]
    assert outcomes[3].failure is FailureKind.UNSUPPORTED and outcomes[3].attempts == 0
    assert "over EventBridge's limit" in (outcomes[3].reason or "")
    assert len(new_events(bus, before)) == 3


def test_a_bus_that_does_not_exist_is_a_permanent_failure(bus: LocalEventBridge) -> None:
    # GIVEN a destination naming a bus moto does not have
    spec = {**bus.destination_spec(), "event_bus_name": "no-such-bus"}
    destination = EventBridgeDestination(name="aws", **spec)
    # WHEN an action is delivered
    (outcome,) = deliver(destination, [action(300)])
    # THEN it fails permanently (dead-lettered, not retried) with EventBridge's words
    assert outcome.failure is FailureKind.PERMANENT and not outcome.retryable
    assert outcome.attempts == 1
    assert "ResourceNotFoundException" in (outcome.reason or "")


def test_an_unreachable_endpoint_is_retried_then_transient() -> None:
    # GIVEN an endpoint where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    destination = EventBridgeDestination(
        name="aws", source="squall.test", region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
        max_attempts=3, backoff_base_s=0.0, timeout_s=1,
    )  # fmt: skip
    # WHEN an action is delivered
    (outcome,) = deliver(destination, [action(400)])
    # THEN it was tried 3 times and comes back retryable (the outbox keeps it)
    assert outcome.failure is FailureKind.TRANSIENT and outcome.retryable
    assert outcome.attempts == 3


def test_the_router_sends_eventbridge_actions_by_destination_name(bus: LocalEventBridge) -> None:
    # GIVEN settings with one EventBridge destination and no Marketing Cloud
    settings = Settings(SQUALL_EVENTBRIDGE=json.dumps({"aws": bus.destination_spec()}))
    before = len(bus.received())

    async def run() -> Any:
        async with open_action_sender(settings) as sender:
            return await sender.deliver([action(500), action(501, destination="elsewhere")])

    # WHEN two actions go through the router
    delivered, unknown = asyncio.run(run())
    # THEN the bus gets the one for "aws"; the other fails unsent, naming the settings
    assert delivered.status is DeliveryStatus.DELIVERED
    assert unknown.failure is FailureKind.UNSUPPORTED and "SQUALL_EVENTBRIDGE" in (unknown.reason or "")
    assert [e["detail"]["idempotency_key"] for e in new_events(bus, before)] == ["eb-0500"]


def test_injected_call_and_entry_failures_are_retried_and_each_event_lands_once(bus: LocalEventBridge) -> None:
    # GIVEN moto behind the demo's fault injection: 30% of calls 5xx, 10% throttled, 15% of entries failing alone
    destination = EventBridgeDestination(name="aws", **bus.destination_spec(), backoff_base_s=0.0, max_attempts=20)
    rates = FaultRates(error_rate=0.3, throttle_rate=0.1)

    def factory(d: EventBridgeDestination) -> EventsClient:
        return FaultyEventsClient(boto3_client(d), rates, seed=5)

    before = len(bus.received())
    # WHEN 40 actions are delivered
    outcomes = deliver(destination, [action(600 + i) for i in range(40)], client_factory=factory)
    # THEN retries got every one through, some needed them, and the bus holds each exactly once
    assert all(o.status is DeliveryStatus.DELIVERED for o in outcomes)
    assert any(o.attempts > 1 for o in outcomes)
    keys = [e["detail"]["idempotency_key"] for e in new_events(bus, before)]
    assert sorted(keys) == [f"eb-{600 + i:04d}" for i in range(40)]
