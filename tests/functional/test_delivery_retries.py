"""One journey entry through MarketingCloudDeliverer and the stub over real HTTP: retries and failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.actions import ActionKind, DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import STUB_CLIENT_SECRET, config_for_stub, deliver_batch, journey_entry

REAL_BACKOFF = {"max_attempts": 4, "backoff_base_s": 0.2, "backoff_max_s": 10.0}  # recorded, never waited out


class RecordingSleep:
    """Remembers each requested delay instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def journey_action(contact_key: str = "contact-1", **overrides: Any) -> PlannedAction:
    return journey_entry(contact_key, **{"data": {"Workload": "MicrosoftTeams"}, **overrides})


def config_for(stub: MarketingCloudStub, **overrides: Any) -> MarketingCloudConfig:
    return config_for_stub(stub, **{**REAL_BACKOFF, **overrides})


def deliver(
    config: MarketingCloudConfig, actions: Sequence[PlannedAction], sleep: RecordingSleep | None = None
) -> list[DeliveryOutcome]:
    return deliver_batch(config, actions, sleep=sleep or RecordingSleep(), jitter=lambda: 1.0)


def test_accepted_event_is_delivered_with_its_event_instance_id(stub: MarketingCloudStub) -> None:
    # GIVEN a valid journey entry  WHEN delivered
    [outcome] = deliver(config_for(stub), [journey_action(data={"patronName": "Zoë"})])
    # THEN it is DELIVERED on the first attempt with the stub's eventInstanceId, UTF-8 data intact
    [received] = stub.received()
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert outcome.response_id == received["eventInstanceId"]
    assert received["Data"] == {"patronName": "Zoë"}


@pytest.mark.parametrize("status", [500, 503, 408])
def test_server_errors_are_retried_with_exponential_backoff(stub: MarketingCloudStub, status: int) -> None:
    # GIVEN the API fails twice with a retryable status
    stub.fail_next(status, 2)
    sleep = RecordingSleep()
    # WHEN one action is delivered (jitter pinned to its maximum)
    [outcome] = deliver(config_for(stub), [journey_action()], sleep)
    # THEN the third attempt succeeds after backoffs of 0.2 s and 0.4 s, and it is recorded once
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert sleep.delays == [0.2, 0.4]
    assert len(stub.received()) == 1


def test_429_retry_after_is_honoured(stub: MarketingCloudStub) -> None:
    # GIVEN a documented 429 with Retry-After: 5
    stub.fail_next(429, 1, retry_after=5)
    sleep = RecordingSleep()
    # WHEN delivered
    [outcome] = deliver(config_for(stub), [journey_action()], sleep)
    # THEN the deliverer waited exactly the server's 5 s before the successful retry
    assert sleep.delays == [5.0]
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_429_without_retry_after_falls_back_to_backoff(stub: MarketingCloudStub) -> None:
    # GIVEN the documented 50200 "temporarily blocked" 429, which has no Retry-After
    stub.fail_next(429, 1)
    sleep = RecordingSleep()
    # WHEN delivered  THEN the first backoff step is used
    [outcome] = deliver(config_for(stub), [journey_action()], sleep)
    assert sleep.delays == [0.2]
    assert outcome.status is DeliveryStatus.DELIVERED


def test_retry_after_longer_than_backoff_max_fails_the_action_at_once(stub: MarketingCloudStub) -> None:
    # GIVEN a 429 asking for 60 s while we wait at most 10 s
    stub.fail_next(429, 1, retry_after=60)
    sleep = RecordingSleep()
    # WHEN delivered
    [outcome] = deliver(config_for(stub), [journey_action()], sleep)
    # THEN it fails without waiting, and says why
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "Retry-After 60 s" in (outcome.reason or "")
    assert sleep.delays == []


def test_retries_stop_after_max_attempts_with_the_last_reason(stub: MarketingCloudStub) -> None:
    # GIVEN the API keeps answering 503
    stub.fail_next(503, 10)
    # WHEN delivered with max_attempts=3
    [outcome] = deliver(config_for(stub, max_attempts=3), [journey_action()])
    # THEN FAILED after 3 attempts with the last answer as reason
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED, 3)
    assert outcome.reason == "gave up after 3 attempts: HTTP 503 errorcode 0: Service Unavailable"
    assert stub.event_requests == 3


def test_unknown_event_definition_key_fails_at_once_with_the_api_message(stub: MarketingCloudStub) -> None:
    sleep = RecordingSleep()
    # GIVEN an action for a journey key Marketing Cloud does not know  WHEN delivered
    [outcome] = deliver(config_for(stub), [journey_action(event_definition_key="APIEvent-unknown")], sleep)
    # THEN a permanent failure after one attempt, carrying the API's message
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "HTTP 400 errorcode 10000" in (outcome.reason or "")
    assert "APIEvent-unknown" in (outcome.reason or "")
    assert sleep.delays == []


def test_missing_contact_key_is_a_permanent_400(stub: MarketingCloudStub) -> None:
    [outcome] = deliver(config_for(stub), [journey_action(contact_key="")])
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "ContactKey is required" in (outcome.reason or "")
    assert stub.received() == []


def test_expired_token_is_refreshed_after_a_401_and_the_event_delivered(stub: MarketingCloudStub) -> None:
    async def scenario() -> list[DeliveryOutcome]:
        async with MarketingCloudDeliverer(config_for(stub), sleep=RecordingSleep()) as sender:
            await sender.deliver([journey_action("contact-1")])
            stub.expire_tokens()  # the tenant revokes/expires the cached token early
            return await sender.deliver([journey_action("contact-2")])

    # GIVEN a deliverer whose cached token the server no longer accepts  WHEN it delivers again
    [outcome] = asyncio.run(scenario())
    # THEN the 401 made it fetch a new token and retry once, successfully
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert stub.token_requests == 2
    assert [r["ContactKey"] for r in stub.received()] == ["contact-1", "contact-2"]


def test_a_second_401_with_a_fresh_token_fails_the_action(stub: MarketingCloudStub) -> None:
    # GIVEN the API refuses even a fresh token
    stub.fail_next(401, 2)
    # WHEN delivered  THEN one refresh was tried, then FAILED
    [outcome] = deliver(config_for(stub), [journey_action()])
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED, 2)
    assert "HTTP 401" in (outcome.reason or "")
    assert stub.token_requests == 2


def test_transport_errors_are_retried_then_reported(stub: MarketingCloudStub) -> None:
    # GIVEN a REST base where nothing listens
    config = config_for(stub, rest_base_url="http://127.0.0.1:9", max_attempts=2)
    # WHEN delivered  THEN FAILED after both attempts, naming the transport error
    [outcome] = deliver(config, [journey_action()])
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED, 2)
    assert outcome.reason == "gave up after 2 attempts: transport error (ConnectError)"


def test_token_endpoint_outage_is_retried_like_any_transient_error(stub: MarketingCloudStub) -> None:
    stub.fail_next(502, 1, endpoint="token")
    [outcome] = deliver(config_for(stub), [journey_action()])
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert stub.token_requests == 2


def test_wrong_credentials_fail_every_action_with_a_clear_auth_reason(stub: MarketingCloudStub) -> None:
    # GIVEN a wrong client secret
    config = config_for(stub, client_secret="wrong-fake-secret-xyz")
    # WHEN a batch of three is delivered
    outcomes = deliver(config, [journey_action(f"c-{n}") for n in range(3)])
    # THEN every action FAILED with the auth reason, after a single token request and no REST call
    assert {o.status for o in outcomes} == {DeliveryStatus.FAILED}
    reason = outcomes[0].reason or ""
    assert "refused the client credentials" in reason
    assert "invalid_client" in reason
    assert "SFMC_CLIENT_SECRET" in reason
    assert "wrong-fake-secret-xyz" not in reason
    assert stub.token_requests == 1
    assert stub.event_requests == 0


def test_actions_this_deliverer_cannot_send_fail_without_a_request(stub: MarketingCloudStub) -> None:
    # GIVEN a webhook action, a journey action without key, and one whose data is not JSON
    actions = [
        journey_action("w", kind=ActionKind.WEBHOOK, destination="webhook"),
        journey_action("k", event_definition_key=None),
        journey_action("d", data={"at": datetime(2026, 1, 1, tzinfo=UTC)}),
    ]
    # WHEN delivered
    outcomes = deliver(config_for(stub), actions)
    # THEN each FAILED with zero attempts and its reason, and the stub saw no event
    assert [(o.status, o.attempts) for o in outcomes] == [(DeliveryStatus.FAILED, 0)] * 3
    assert "not a Marketing Cloud journey entry" in (outcomes[0].reason or "")
    assert "without event_definition_key" in (outcomes[1].reason or "")
    assert "Data is not JSON" in (outcomes[2].reason or "")
    assert stub.event_requests == 0


def test_logs_name_the_action_but_never_payload_token_or_secret(
    stub: MarketingCloudStub, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an action with personal data, and one retry so the retry path logs too
    stub.fail_next(503, 1)
    action = journey_action(data={"email": "private.person@example.test"})
    # WHEN delivered with every log level captured
    with caplog.at_level(logging.DEBUG):
        deliver(config_for(stub), [action])
    # THEN the logs carry the action key and rule, and no payload, secret or bearer token
    assert action.key in caplog.text
    assert "rule=rule-1" in caplog.text
    assert "private.person@example.test" not in caplog.text
    assert STUB_CLIENT_SECRET not in caplog.text
    assert "Bearer" not in caplog.text
