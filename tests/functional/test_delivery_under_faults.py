"""1,000 journey entries through a stub that fails, throttles and expires tokens: nothing lost, nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared.actions import DeliveryStatus
from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import (
    accepted_idempotency_keys,
    config_for_stub,
    deliver_batch,
    journey_entries,
    stub_with_known_credentials,
)


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
    faults = {"error_rate": 0.3, "throttle_rate": 0.1, "throttle_retry_after_s": 0, "token_ttl_s": 1}
    with stub_with_known_credentials(**faults, seed=20260101) as stub:
        yield stub


def test_1000_actions_through_5xx_429_and_expired_tokens_reconcile_exactly(
    chaotic_stub: MarketingCloudStub,
) -> None:
    # GIVEN 30 % injected 5xx, 10 % 429 (half without Retry-After), 1 s tokens that are also revoked
    # every 0.5 s, and a deliverer with small backoffs
    config = config_for_stub(chaotic_stub, max_concurrency=8, max_attempts=12)
    actions = journey_entries(1000, prefix="user", rule_id="rule-chaos")

    # WHEN the 1,000 actions are delivered as one batch
    with TokenRevoker(chaotic_stub, period_s=0.5):
        outcomes = deliver_batch(config, actions)

    # THEN there is exactly one outcome per action, in order
    assert [o.action.key for o in outcomes] == [a.key for a in actions]
    delivered = {o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED}
    failed = [o for o in outcomes if o.status is DeliveryStatus.FAILED]
    # AND the stub accepted exactly the delivered actions, each once (by Idempotency-Key)
    accepted = accepted_idempotency_keys(chaotic_stub)
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
