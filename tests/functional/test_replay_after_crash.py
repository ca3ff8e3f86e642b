"""Effectively once: a relay that dies after some deliveries, a batch the host replays from its
checkpoint, and the timer that delivers what the relay left; nothing is lost or doubled. (The kill
suite proves the same with SIGKILL; this one shows the steps one by one.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.actions.models import DeliveryOutcome, PlannedAction
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from shared.events.models import RawEvent
from shared.pipeline import PipelineDeps, process_batch, retry_pending_outbox
from shared.rules import RuleSetCache
from shared.store.sqlite import SqliteStore
from squall.stub import MarketingCloudStub

KEY = "APIEvent-copilot"
RULES = [
    {
        "id": "copilot-use",
        "when": {"types": ["Copilot/CopilotInteraction"]},
        "cooldown": "1d",  # stateful: its actions commit with the entity state
        "action": {"kind": "journey_entry", "event_definition_key": KEY, "contact_key": "{entity}"},
    },
    {
        "id": "teams-use",
        "when": {"types": ["MicrosoftTeams/TeamsSessionStarted"]},  # stateless
        "action": {"kind": "journey_entry", "event_definition_key": KEY, "contact_key": "teams:{entity}"},
    },
]


class SimulatedCrash(Exception):
    """The process dies here: nothing after this point runs (no checkpoint, no bookkeeping)."""


class CrashingSender:
    """Passes the first ``calls`` delivery calls to the real deliverer, then dies."""

    def __init__(self, inner: MarketingCloudDeliverer, *, calls: int) -> None:
        self.inner, self.calls = inner, calls

    async def deliver(self, actions: Sequence[PlannedAction], **_: object) -> list[DeliveryOutcome]:
        if self.calls == 0:
            raise SimulatedCrash
        self.calls -= 1
        return await self.inner.deliver(actions)


def usage_batch() -> list[RawEvent]:
    batch = []
    for i in range(300):
        workload, operation = (
            ("Copilot", "CopilotInteraction") if i % 2 else ("MicrosoftTeams", "TeamsSessionStarted")
        )
        record = {
            "CreationTime": "2026-11-20T10:00:00", "Id": f"evt-{i}", "Operation": operation,
            "OrganizationId": "t-1", "RecordType": 25, "ResultStatus": "Succeeded", "UserKey": "k",
            "UserType": 0, "Workload": workload, "UserId": f"user{i}@contoso.com",
        }  # fmt: skip
        batch.append(RawEvent(body=json.dumps(record).encode(), partition="4", sequence_number=1000 + i))
    return batch


async def run_twice(stub: MarketingCloudStub, db: Path) -> None:
    store = SqliteStore(db)
    await store.rules.save_ruleset("default", RULES)
    config = MarketingCloudConfig(
        auth_base_url=stub.auth_base_url, rest_base_url=stub.rest_base_url,
        client_id="crash-test", client_secret="not-a-real-secret", backoff_base_s=0.01,
    )  # fmt: skip
    async with MarketingCloudDeliverer(config) as deliverer:

        def deps(sender: object) -> PipelineDeps:
            return PipelineDeps(
                rules=RuleSetCache(store.rules, "default"), states=store.states, dedupe=store.dedupe,
                deadletters=store.deadletters, sender=sender,  # type: ignore[arg-type]
            )  # fmt: skip

        first = await process_batch(usage_batch(), deps(deliverer))  # ingestion plans, it sends nothing
        assert (first.actions_planned, len(stub.received())) == (300, 0)
        try:  # the relay dies after two requests
            await retry_pending_outbox(
                deps(CrashingSender(deliverer, calls=2)), now=datetime.now(UTC), grace=timedelta(0)
            )
        except SimulatedCrash:
            pass
        else:
            raise AssertionError("the relay should have crashed")
        assert 0 < len(stub.received()) < 300  # some, not all, were delivered before the crash
        # the host replays the batch in a new process (the checkpoint was not written)
        report = await process_batch(usage_batch(), deps(deliverer))
        assert report.actions_planned == 150  # the stateless half planned again, under the same keys
        # the timer delivers what the crashed relay left in the outbox
        await retry_pending_outbox(deps(deliverer), now=datetime.now(UTC) + timedelta(minutes=5))
        assert await store.states.pending_outbox() == []
    await store.close()


def test_replayed_batch_after_a_crash_delivers_every_action_exactly_once(tmp_path: Path) -> None:
    # GIVEN 300 events, half for a stateful rule and half for a stateless one
    with MarketingCloudStub(
        event_definition_keys={KEY}, client_id="crash-test", client_secret="not-a-real-secret"
    ) as stub:
        # WHEN the first attempt dies after two delivery chunks and the batch is processed again
        asyncio.run(run_twice(stub, tmp_path / "squall.db"))
        # THEN every expected journey entry is in the stub exactly once
        contacts = [r["ContactKey"] for r in stub.received()]
    expected = {f"user{i}@contoso.com" for i in range(1, 300, 2)} | {
        f"teams:user{i}@contoso.com" for i in range(0, 300, 2)
    }
    assert len(contacts) == len(set(contacts)) == 300
    assert set(contacts) == expected
