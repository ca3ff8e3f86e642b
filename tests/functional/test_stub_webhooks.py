"""The stub's webhook receiver over real HTTP: verifies signatures as docs/webhooks.md says, records
what it accepted, counts repeats, and takes the stub's injected faults like the other endpoints."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from shared.actions import ActionKind, DeliveryStatus, PlannedAction
from shared.actions.webhook import WebhookDeliverer, WebhookDestination, signature_header
from squall.stub import MarketingCloudStub

SECRET = "obviously-fake-stub-webhook-secret"


def action(index: int) -> PlannedAction:
    return PlannedAction(
        key=f"wh-{index:03d}", kind=ActionKind.WEBHOOK, rule_id="usage-to-crm", event_id=f"e{index}",
        entity="ann@contoso.com", contact_key="ann@contoso.com", data={"n": index}, destination="crm",
    )  # fmt: skip


def deliver(stub: MarketingCloudStub, actions: list[PlannedAction]) -> list:
    crm = WebhookDestination(
        name="crm", url=stub.webhook_url("crm"), secret=stub.webhook_secret, allow_private=True, backoff_base_s=0.0,
        max_attempts=20,
    )  # fmt: skip

    async def run() -> list:
        async with WebhookDeliverer({"crm": crm}) as webhooks:
            return await webhooks.deliver(actions)

    return asyncio.run(run())


def test_signed_requests_are_recorded_with_destination_key_and_body() -> None:
    with MarketingCloudStub(webhook_secret=SECRET) as stub:
        # WHEN Squall's webhook deliverer sends two actions to the receiver
        outcomes = deliver(stub, [action(1), action(2)])
        # THEN both are delivered and recorded with destination, idempotency key and the signed body
        assert [o.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 2
        records = sorted(stub.received_webhooks(), key=lambda r: r["idempotency_key"])
        assert [(r["destination"], r["idempotency_key"]) for r in records] == [("crm", "wh-001"), ("crm", "wh-002")]
        assert records[0]["body"]["data"] == {"n": 1} and records[0]["body"]["rule_id"] == "usage-to-crm"
        assert stub.duplicates("webhook") == 0 and stub.rejected_signatures == 0
        # AND the listing endpoint shows them too
        listed = httpx.get(f"{stub.base_url}/_stub/received/webhooks").json()
        assert len(listed) == 2


def test_a_wrong_or_missing_signature_is_refused_with_401_and_not_recorded() -> None:
    with MarketingCloudStub(webhook_secret=SECRET) as stub:
        body = json.dumps({"data": {}}).encode()
        wrong = signature_header("another-secret-of-16-chars", body, timestamp=int(time.time()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": "k"}
        # WHEN requests arrive signed with another secret, and unsigned
        refused = httpx.post(stub.webhook_url("crm"), content=body, headers={**headers, "X-Squall-Signature": wrong})
        unsigned = httpx.post(stub.webhook_url("crm"), content=body, headers=headers)
        # THEN both get 401 and nothing is recorded
        assert (refused.status_code, unsigned.status_code) == (401, 401)
        assert stub.received_webhooks() == [] and stub.rejected_signatures == 2


def test_the_same_key_twice_counts_as_a_duplicate() -> None:
    with MarketingCloudStub(webhook_secret=SECRET) as stub:
        deliver(stub, [action(7)])
        deliver(stub, [action(7)])
        assert stub.duplicates("webhook") == 1


def test_injected_faults_hit_webhooks_and_retries_deliver_each_once() -> None:
    # GIVEN a stub answering 30% of requests 5xx and 10% 429
    with MarketingCloudStub(webhook_secret=SECRET, error_rate=0.3, throttle_rate=0.1, seed=7,
                            throttle_retry_after_s=0) as stub:  # fmt: skip
        # WHEN 40 actions are delivered
        outcomes = deliver(stub, [action(i) for i in range(40)])
        # THEN faults were injected, and every action arrived exactly once
        assert stub.faults_injected > 0
        assert all(o.status is DeliveryStatus.DELIVERED for o in outcomes)
        assert len(stub.received_webhooks()) == 40 and stub.duplicates("webhook") == 0
