"""One batch planning every kind of action, through the pipeline and the router, to real receivers:
the stub (journeys, rows, webhook receiver) and moto's EventBridge, over HTTP. A destination that is
down leaves its actions in the outbox; the timer's retry delivers them; each lands exactly once."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.actions.routing import open_action_sender
from shared.events.models import RawEvent
from shared.pipeline import BatchRetryRequired, PipelineDeps, process_batch, retry_pending_outbox
from shared.rules import compile_ruleset, validate_rules
from shared.settings import Settings
from shared.store.sqlite import SqliteStore
from squall.stub import MarketingCloudStub
from tests.fakes import FixedRuleSource

pytest.importorskip("moto.server")
from squall.eventbridge_local import LocalEventBridge  # noqa: E402

WHEN = {"source": "o365", "types": ["MicrosoftTeams/TeamCreated"]}
RULES = [
    {"id": "enter", "when": WHEN, "action": {"event_definition_key": "APIEvent-teams"}},
    {"id": "row", "when": WHEN, "action": {"kind": "data_extension_row", "data_extension_key": "Teams",
                                           "row_keys": {"ContactKey": "{entity}"}, "data": {"Tenant": "{tenant}"}}},
    {"id": "hook", "when": WHEN, "action": {"kind": "webhook", "destination": "crm", "data": {"t": "{tenant}"}}},
    {"id": "bus", "when": WHEN, "action": {"kind": "eventbridge", "destination": "aws", "detail_type": "Team created",
                                           "data": {"t": "{tenant}"}}},
]  # fmt: skip


def team_created(record_id: str, user: str, sequence: int) -> RawEvent:
    body = {
        "CreationTime": "2026-11-20T10:00:00", "Id": record_id, "Operation": "TeamCreated", "OrganizationId": "t-1",
        "RecordType": 25, "ResultStatus": "Succeeded", "UserKey": "k", "UserType": 0, "Workload": "MicrosoftTeams",
        "UserId": user,
    }  # fmt: skip
    return RawEvent(body=json.dumps(body).encode(), partition="1", sequence_number=sequence)


@pytest.fixture(scope="module")
def bus() -> Iterator[LocalEventBridge]:
    with LocalEventBridge(bus="squall-kinds", source="squall.kinds") as local:
        yield local


def settings_for(stub: MarketingCloudStub, bus: LocalEventBridge, secret: str) -> Settings:
    quick = {"backoff_base_s": 0.0, "max_attempts": 2, "breaker_failure_threshold": 1, "breaker_reset_s": 0.2}
    return Settings(
        SFMC_AUTH_BASE_URL=stub.base_url, SFMC_REST_BASE_URL=stub.base_url, SFMC_CLIENT_ID="kinds",
        SFMC_CLIENT_SECRET=secret,
        SQUALL_WEBHOOKS=json.dumps({"crm": {"url": stub.webhook_url("crm"), "allow_private": True, **quick}}),
        SQUALL_WEBHOOK_SECRETS=json.dumps({"crm": stub.webhook_secret}),
        SQUALL_EVENTBRIDGE=json.dumps({"aws": {**bus.destination_spec(), **quick}}),
    )  # fmt: skip


def test_every_kind_goes_through_outbox_and_retry_and_lands_once(bus: LocalEventBridge) -> None:
    secret = secrets.token_urlsafe(16)
    store = SqliteStore(":memory:")
    ruleset = compile_ruleset(validate_rules(RULES).rules, version=1)
    batch = [team_created(f"tc{i}", f"user{i}@contoso.com", i) for i in range(3)]
    with MarketingCloudStub(client_id="kinds", client_secret=secret) as stub:
        # GIVEN the webhook receiver down for the batch's first attempt (every request 503)
        stub.fail_next(503, 6, endpoint="webhook")
        before = len(bus.received())

        async def run() -> tuple[Any, Any]:
            async with open_action_sender(settings_for(stub, bus, secret)) as sender:
                deps = PipelineDeps(
                    rules=FixedRuleSource(ruleset), states=store.states, dedupe=store.dedupe,
                    deadletters=store.deadletters, sender=sender,
                )  # fmt: skip
                # WHEN the batch is processed (it plans, the outbox holds every kind) and the relay
                # delivers: the webhook breaker opens, the relay stops with what got through
                planned = await process_batch(batch, deps)
                assert planned.actions_planned == 12
                with pytest.raises(BatchRetryRequired) as raised:
                    await retry_pending_outbox(deps, now=datetime.now(UTC), grace=timedelta(0))
                await asyncio.sleep(0.3)  # the breaker lets a probe through again
                # AND later the timer retries what the outbox still holds
                later = datetime.now(UTC) + timedelta(minutes=5)
                return raised.value, await retry_pending_outbox(deps, now=later)

        down, retried = asyncio.run(run())
        journeys, rows, hooks = stub.received(), stub.received_rows(), stub.received_webhooks()
        duplicates = stub.duplicates()
    events = bus.received()[before:]
    asyncio.run(store.close())
    # THEN the first delivery got the other kinds through and kept the webhooks in the outbox
    assert down.report is not None and down.report.actions_delivered == 9
    # AND the retry delivered the three webhooks; each kind reached its receiver once per user
    assert retried.actions_delivered == 3
    users = sorted(f"user{i}@contoso.com" for i in range(3))
    assert sorted(j["ContactKey"] for j in journeys) == users
    assert sorted(r["keys"]["ContactKey"] for r in rows) == users
    assert sorted(h["body"]["contact_key"] for h in hooks) == users
    assert sorted(e["detail"]["contact_key"] for e in events) == users
    assert duplicates == 0 and bus.duplicates() == 0
