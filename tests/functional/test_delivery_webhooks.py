"""Signed webhooks over real HTTP to a local receiver, and the router that picks the destination."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.actions import (
    ActionKind,
    DeliveryOutcome,
    DeliveryStatus,
    DestinationUnavailable,
    FailureKind,
    MarketingCloudConfigError,
    PlannedAction,
)
from shared.actions.routing import ActionRouter, open_action_sender
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from shared.actions.webhook import WebhookDeliverer, WebhookDestination, verify_signature
from shared.settings import Settings
from squall.stub import MarketingCloudStub

SECRET = "obviously-fake-webhook-secret-42"


class WebhookReceiver:
    """A real HTTP receiver: verifies signatures like a customer would, records what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.requests = 0
        self.replies: deque[tuple[int, dict[str, str]]] = deque()  # queued answers, then 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers = receiver.answer(self.headers, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/squall"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, headers: Any, body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.requests += 1
            if self.replies:
                return self.replies.popleft()
            if not verify_signature(SECRET, headers.get("X-Squall-Signature", ""), body):
                return 401, {}
            self.accepted.append({"key": headers.get("Idempotency-Key"), "body": json.loads(body)})
            return 200, {}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


def destination(receiver: WebhookReceiver, **overrides: Any) -> WebhookDestination:
    options: dict[str, Any] = {
        "name": "crm",
        "url": receiver.url,
        "secret": SECRET,
        "allow_private": True,  # the receiver is on loopback
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.01,
        "max_attempts": 4,
    }
    options.update(overrides)
    return WebhookDestination(**options)


def webhook_action(n: int, destination_name: str = "crm") -> PlannedAction:
    return PlannedAction(
        key=f"hook-{n}",
        kind=ActionKind.WEBHOOK,
        rule_id="rule-hook",
        event_id=f"event-{n}",
        entity=f"user-{n}",
        contact_key=f"user-{n}@contoso.example",
        data={"name": "Zoë", "n": n},
        destination=destination_name,
    )


def deliver(sender: Any, actions: list[PlannedAction]) -> list[DeliveryOutcome]:
    async def scenario() -> list[DeliveryOutcome]:
        async with sender:
            return await sender.deliver(actions)

    return asyncio.run(scenario())


def test_webhook_is_signed_carries_the_idempotency_key_and_is_verified_by_the_receiver(
    receiver: WebhookReceiver,
) -> None:
    # GIVEN a configured webhook  WHEN three actions are delivered
    outcomes = deliver(WebhookDeliverer({"crm": destination(receiver)}), [webhook_action(n) for n in range(3)])
    # THEN the receiver verified each signature and got each action once, with its key and data
    assert [o.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 3
    assert sorted(a["key"] for a in receiver.accepted) == ["hook-0", "hook-1", "hook-2"]
    first = next(a["body"] for a in receiver.accepted if a["key"] == "hook-0")
    assert first == {
        "idempotency_key": "hook-0",
        "rule_id": "rule-hook",
        "event_id": "event-0",
        "entity": "user-0",
        "contact_key": "user-0@contoso.example",
        "data": {"name": "Zoë", "n": 0},
    }


def test_5xx_and_429_without_retry_after_are_retried_then_delivered_once(receiver: WebhookReceiver) -> None:
    receiver.replies.extend([(503, {}), (429, {}), (429, {"Retry-After": "0"})])
    [outcome] = deliver(WebhookDeliverer({"crm": destination(receiver)}), [webhook_action(1)])
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 4)
    assert [a["key"] for a in receiver.accepted] == ["hook-1"]


def test_a_wrong_secret_is_an_auth_failure_naming_the_setting(receiver: WebhookReceiver) -> None:
    sender = WebhookDeliverer({"crm": destination(receiver, secret="another-fake-secret-9999")})
    [outcome] = deliver(sender, [webhook_action(1)])
    assert (outcome.failure, outcome.attempts) == (FailureKind.AUTH, 1)
    assert "SQUALL_WEBHOOK_SECRETS" in (outcome.reason or "")
    assert receiver.accepted == []


def test_redirects_are_not_followed(receiver: WebhookReceiver) -> None:
    receiver.replies.append((307, {"Location": "http://169.254.169.254/latest/meta-data"}))
    [outcome] = deliver(WebhookDeliverer({"crm": destination(receiver)}), [webhook_action(1)])
    assert outcome.failure is FailureKind.PERMANENT
    assert "redirects are not followed" in (outcome.reason or "")
    assert receiver.requests == 1


def test_loopback_target_is_refused_unless_allowed(receiver: WebhookReceiver) -> None:
    # GIVEN the same loopback receiver without allow_private  WHEN delivered
    sender = WebhookDeliverer({"crm": destination(receiver, allow_private=False)})
    [outcome] = deliver(sender, [webhook_action(1)])
    # THEN nothing is sent and the reason says why and how to allow it
    assert (outcome.failure, outcome.attempts) == (FailureKind.UNSUPPORTED, 0)
    assert "127.0.0.1, a loopback address" in (outcome.reason or "")
    assert "allow_private" in (outcome.reason or "")
    assert receiver.requests == 0


def test_a_webhook_down_for_everyone_opens_its_breaker_and_raises_for_the_batch(receiver: WebhookReceiver) -> None:
    receiver.replies.extend([(500, {})] * 100)
    sender = WebhookDeliverer({"crm": destination(receiver, max_attempts=2, breaker_failure_threshold=2)})
    with pytest.raises(DestinationUnavailable) as raised:
        deliver(sender, [webhook_action(n) for n in range(10)])
    assert raised.value.destination == "crm"
    assert len(raised.value.outcomes) == 10
    assert all(o.retryable for o in raised.value.outcomes)
    assert raised.value.retry_after is not None


def test_router_sends_each_action_to_its_destination_and_fails_unknown_names(receiver: WebhookReceiver) -> None:
    # GIVEN Marketing Cloud (the stub) and one webhook behind one router
    with MarketingCloudStub(client_id="router-test", client_secret="obviously-fake-router") as stub:
        sfmc = MarketingCloudDeliverer(
            MarketingCloudConfig(
                auth_base_url=stub.auth_base_url,
                rest_base_url=stub.rest_base_url,
                client_id="router-test",
                client_secret="obviously-fake-router",
            )
        )
        webhooks = WebhookDeliverer({"crm": destination(receiver)})
        journey = PlannedAction(
            key="journey-1", kind=ActionKind.JOURNEY_ENTRY, rule_id="r", event_id="e", entity="u",
            contact_key="u@contoso.example", event_definition_key="APIEvent-x",
        )  # fmt: skip
        batch = [webhook_action(1), journey, webhook_action(2, destination_name="erp")]

        async def scenario() -> list[DeliveryOutcome]:
            async with sfmc, webhooks:
                return await ActionRouter({"sfmc": sfmc, "crm": webhooks}).deliver(batch)

        # WHEN the mixed batch is delivered
        outcomes = asyncio.run(scenario())
        # THEN the webhook action reached the receiver, the journey the stub, and "erp" failed unsent
        assert [o.action for o in outcomes] == batch
        assert [o.status for o in outcomes[:2]] == [DeliveryStatus.DELIVERED] * 2
        assert [a["key"] for a in receiver.accepted] == ["hook-1"]
        assert [r["idempotency_key"] for r in stub.received()] == ["journey-1"]
        assert (outcomes[2].failure, outcomes[2].attempts) == (FailureKind.UNSUPPORTED, 0)
        assert "no destination named 'erp'" in (outcomes[2].reason or "")


def test_router_raises_one_whole_batch_error_with_every_destinations_outcomes(receiver: WebhookReceiver) -> None:
    # GIVEN a webhook that is down and a second, healthy webhook destination
    receiver.replies.extend([(503, {})] * 4)
    down = WebhookDeliverer({"crm": destination(receiver, max_attempts=2, breaker_failure_threshold=2)})

    class Recording:
        async def deliver(self, actions: list[PlannedAction], **_: object) -> list[DeliveryOutcome]:
            return [DeliveryOutcome(a, DeliveryStatus.DELIVERED, 1) for a in actions]

    batch = [webhook_action(1), webhook_action(2, "ok"), webhook_action(3)]

    async def scenario() -> None:
        async with down:
            await ActionRouter({"crm": down, "ok": Recording()}).deliver(batch)

    # WHEN delivered  THEN one DestinationUnavailable carries all three outcomes, the delivered one included
    with pytest.raises(DestinationUnavailable) as raised:
        asyncio.run(scenario())
    assert [o.action for o in raised.value.outcomes] == batch
    assert raised.value.outcomes[1].status is DeliveryStatus.DELIVERED
    assert raised.value.destination == "crm"


def test_open_action_sender_builds_one_router_from_settings(receiver: WebhookReceiver) -> None:
    # GIVEN settings for the Marketing Cloud stub and one loopback webhook
    with MarketingCloudStub(client_id="wiring-test", client_secret="obviously-fake-wiring") as stub:
        webhooks = {"crm": {"url": receiver.url, "allow_private": True}}
        settings = Settings(
            SFMC_AUTH_BASE_URL=stub.auth_base_url,
            SFMC_REST_BASE_URL=stub.rest_base_url,
            SFMC_CLIENT_ID="wiring-test",
            SFMC_CLIENT_SECRET="obviously-fake-wiring",
            SQUALL_WEBHOOKS=json.dumps(webhooks),
            SQUALL_WEBHOOK_SECRETS=json.dumps({"crm": SECRET}),
        )

        async def scenario() -> tuple[frozenset[str], list[DeliveryOutcome]]:
            async with open_action_sender(settings) as router:
                return router.destinations, await router.deliver([webhook_action(1)])

        # WHEN the sender is opened and delivers  THEN it serves both destinations
        destinations, [outcome] = asyncio.run(scenario())
    assert destinations == {"sfmc", "crm"}
    assert outcome.status is DeliveryStatus.DELIVERED


def test_open_action_sender_needs_marketing_cloud_or_a_webhook() -> None:
    async def scenario() -> None:
        async with open_action_sender(Settings()):
            pass

    with pytest.raises(MarketingCloudConfigError, match="set SFMC_AUTH_BASE_URL"):
        asyncio.run(scenario())
