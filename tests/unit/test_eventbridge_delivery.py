"""EventBridge's per-entry answers mapped onto the retry / dead-letter taxonomy, with a fake client.

The fake stands in for boto3's client where moto cannot: moto never fails single entries of a call
that succeeds (``FailedEntryCount`` > 0 with ``ThrottlingException`` or ``InternalFailure``), nor
refuses credentials. The HTTP path itself is tested against moto in tests/functional.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError

from shared.actions import ActionKind, DeliveryStatus, FailureKind, PlannedAction
from shared.actions.eventbridge import EventBridgeDestination
from shared.actions.eventbridge.deliverer import EventBridgeDeliverer

DESTINATION = EventBridgeDestination(name="aws", source="squall.test", region="us-east-1", backoff_base_s=0.0)


class ScriptedClient:
    """Answers each ``put_events`` call with the next scripted answer (a dict, or an error to raise)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = deque(answers)
        self.calls: list[list[str]] = []

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append([entry["Detail"][20:28] for entry in Entries])
        answer = self.answers.popleft() if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            return {"FailedEntryCount": 0, "Entries": [{"EventId": f"id-{i}"} for i in range(len(Entries))]}
        return answer


def action(index: int) -> PlannedAction:
    return PlannedAction(
        key=f"key-{index:04d}", kind=ActionKind.EVENTBRIDGE, rule_id="r", event_id=f"e{index}", entity="u",
        contact_key="u", data={"n": index}, destination="aws", detail_type="Usage",
    )  # fmt: skip


def deliver(client: ScriptedClient, actions: list[PlannedAction]) -> list[Any]:
    async def run() -> list[Any]:
        async def no_sleep(_: float) -> None:
            return None

        deliverer = EventBridgeDeliverer({"aws": DESTINATION}, client_factory=lambda _: client, sleep=no_sleep)
        return await deliverer.deliver(actions)

    return asyncio.run(run())


def test_failed_entries_are_retried_or_dead_lettered_by_error_code() -> None:
    # GIVEN a call where entry 1 is throttled and entry 2 malformed, then a call that succeeds
    client = ScriptedClient(
        {
            "FailedEntryCount": 2,
            "Entries": [
                {"EventId": "a"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"},
                {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
            ],
        }
    )
    # WHEN three actions are delivered
    first, throttled, malformed = deliver(client, [action(0), action(1), action(2)])
    # THEN the retry sent only the throttled entry again, and it landed
    assert len(client.calls) == 2 and len(client.calls[1]) == 1
    assert first.status is DeliveryStatus.DELIVERED and first.response_id == "a"
    assert throttled.status is DeliveryStatus.DELIVERED and throttled.attempts == 2
    # AND the malformed one failed for good with EventBridge's code (dead-lettered, never retried)
    assert malformed.failure is FailureKind.PERMANENT and not malformed.retryable
    assert "MalformedDetail: Detail is malformed." in (malformed.reason or "")


def test_entries_failing_internally_every_time_come_back_retryable() -> None:
    # GIVEN InternalFailure for the entry on every attempt
    failing = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}]}
    client = ScriptedClient(*([failing] * DESTINATION.max_attempts))
    # WHEN delivered
    (outcome,) = deliver(client, [action(0)])
    # THEN it gave up after max_attempts as transient: the outbox keeps it for a later attempt
    assert outcome.failure is FailureKind.TRANSIENT and outcome.retryable
    assert outcome.attempts == DESTINATION.max_attempts
    assert "InternalFailure" in (outcome.reason or "")


def test_refused_or_missing_credentials_are_an_auth_failure_after_one_call() -> None:
    # GIVEN an AccessDeniedException, and separately no credentials at all
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "PutEvents",
    )
    for error in (denied, NoCredentialsError()):
        client = ScriptedClient(error)
        # WHEN an action is delivered
        (outcome,) = deliver(client, [action(0)])
        # THEN it is not retried: an auth failure naming what to check
        assert outcome.failure is FailureKind.AUTH and outcome.attempts == 1
        assert "standard chain" in (outcome.reason or "")


def test_throttling_of_the_whole_call_is_retried_and_counted_as_throttled() -> None:
    # GIVEN a throttled call, then success
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "PutEvents",
    )
    client = ScriptedClient(throttled)
    # WHEN delivered
    (outcome,) = deliver(client, [action(0)])
    # THEN the second call delivered it
    assert outcome.status is DeliveryStatus.DELIVERED and outcome.attempts == 2
