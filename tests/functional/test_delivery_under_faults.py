"""1,000 journey entries through a stub that fails, throttles and expires tokens: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator

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

JOURNEY_KEY = "APIEvent-chaos"
CLIENT_ID = "chaos-test-client"
CLIENT_SECRET = "obviously-fake-secret-chaos"


class TokenRevoker:
    """Revokes every issued token every ``period_s`` while running, like a tenant rotating keys."""

    def __init__(self, stub: MarketingCloudStub, period_s: float) -> None:
        self._stub = stub
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            self._stub.expire_tokens()

    def __enter__(self) -> TokenRevoker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def chaotic_stub() -> Iterator[MarketingCloudStub]:
    with MarketingCloudStub(
        event_definition_keys={JOURNEY_KEY},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        error_rate=0.3,
        throttle_rate=0.1,
        throttle_retry_after_s=0,
        token_ttl_s=1,
        seed=20260101,
    ) as stub:
        yield stub


def journey_actions(count: int) -> list[PlannedAction]:
    return [
        PlannedAction(
            key=f"chaos-{n:04d}",
            kind=ActionKind.JOURNEY_ENTRY,
            rule_id="rule-chaos",
            event_id=f"event-{n}",
            entity=f"user-{n}",
            contact_key=f"user-{n}@contoso.example",
            event_definition_key=JOURNEY_KEY,
            data={"n": n},
        )
        for n in range(count)
    ]


def test_1000_actions_through_5xx_429_and_expired_tokens_reconcile_exactly(
    chaotic_stub: MarketingCloudStub,
) -> None:
    # GIVEN 30 % injected 5xx, 10 % 429 (half without Retry-After), 1 s tokens that are also revoked
    # every 0.5 s, and a deliverer with small backoffs
    config = MarketingCloudConfig(
        auth_base_url=chaotic_stub.auth_base_url,
        rest_base_url=chaotic_stub.rest_base_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        max_concurrency=8,
        max_attempts=12,
        backoff_base_s=0.001,
        backoff_max_s=0.01,
    )
    actions = journey_actions(1000)

    async def scenario() -> list[DeliveryOutcome]:
        async with MarketingCloudDeliverer(config) as deliverer:
            return await deliverer.deliver(actions)

    # WHEN the 1,000 actions are delivered as one batch
    with TokenRevoker(chaotic_stub, period_s=0.5):
        outcomes = asyncio.run(scenario())

    # THEN there is exactly one outcome per action, in order
    assert [o.action.key for o in outcomes] == [a.key for a in actions]
    delivered = {o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED}
    failed = [o for o in outcomes if o.status is DeliveryStatus.FAILED]
    # AND the stub accepted exactly the delivered actions, each once (by Idempotency-Key)
    accepted = Counter(r["idempotency_key"] for r in chaotic_stub.received())
    assert set(accepted) == delivered
    assert chaotic_stub.duplicates() == 0
    assert max(accepted.values()) == 1
    # AND every failure says why, and delivered + failed reconcile with the batch
    assert all(o.reason and o.failure for o in failed)
    assert len(delivered) + len(failed) == len(actions)
    # AND every request the stub saw is an attempt of some action (no hidden resends)
    assert sum(o.attempts for o in outcomes) == chaotic_stub.event_requests
    # AND the faults really happened: injected errors, refused stale tokens, token refreshes
    assert chaotic_stub.faults_injected > 300
    assert chaotic_stub.unauthorized_answers > 0
    assert chaotic_stub.token_requests > 2
    assert len(delivered) >= 990
