"""The timer function delivers outbox entries a crashed batch left behind."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from shared.actions.models import ActionKind, PlannedAction
from shared.pipeline.outbox import outbox_entries
from shared.store.models import OutboxEntry
from shared.store.sqlite import SqliteStore
from tests.blueprints.conftest import JOURNEY_KEY, change_feed, registered_handler
from tests.blueprints.test_ingest_blueprint import hub_batch


def left_behind(contact: str, *, age: timedelta) -> OutboxEntry:
    action = PlannedAction(
        key=f"key-{contact}", kind=ActionKind.JOURNEY_ENTRY, rule_id="teams-session", event_id=f"e-{contact}",
        entity=contact, contact_key=contact, event_definition_key=JOURNEY_KEY, data={"Tenant": "t"},
    )  # fmt: skip
    [entry] = outbox_entries([action])
    return OutboxEntry(entity=entry.entity, key=entry.key, action=entry.action, created_at=datetime.now(UTC) - age)


def test_timer_delivers_stale_outbox_entries_and_leaves_fresh_ones(configured_app) -> None:
    _, stub, db = configured_app
    # GIVEN an entry a crashed batch left 10 minutes ago, and one a running batch committed just now
    store = SqliteStore(db)
    asyncio.run(store.states.save_states([], outbox=[left_behind("old@contoso.com", age=timedelta(minutes=10))]))
    asyncio.run(store.states.save_states([], outbox=[left_behind("new@contoso.com", age=timedelta(seconds=1))]))
    # WHEN the timer fires
    asyncio.run(registered_handler("run_scheduled_work")(TimerRequest(past_due=False)))
    # THEN the stale one reached Marketing Cloud and left the outbox; the fresh one waits its turn
    assert [r["ContactKey"] for r in stub.received()] == ["old@contoso.com"]
    assert [e.entity for e in asyncio.run(store.states.pending_outbox())] == ["new@contoso.com"]
    asyncio.run(store.close())


ABSENCE_RULES = [
    {
        "id": "no-teams-after-signup",
        "absence": {
            "after": {"types": ["AzureActiveDirectory/UserLoggedIn"]},
            "missing": {"types": ["MicrosoftTeams/TeamsSessionStarted"]},
            "within": "P3D",
        },
        "action": {"kind": "journey_entry", "event_definition_key": JOURNEY_KEY, "contact_key": "{entity}"},
    }
]


def test_timer_fires_an_absence_deadline_on_time_alone(configured_app) -> None:
    _, stub, db = configured_app
    # GIVEN a sign-in four days ago and no Teams session since (nothing else arrives)
    store = SqliteStore(db)
    asyncio.run(store.rules.save_ruleset("default", ABSENCE_RULES))
    signed_in = (datetime.now(UTC) - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%S")
    enqueued = (datetime.now(UTC) - timedelta(days=4) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    record = {
        "CreationTime": signed_in, "Id": "login-1", "Operation": "UserLoggedIn", "OrganizationId": "t",
        "RecordType": 15, "ResultStatus": "Success", "UserKey": "k", "UserType": 0,
        "Workload": "AzureActiveDirectory", "UserId": "quiet@contoso.com",
    }  # fmt: skip
    ingest, timer = registered_handler("process_usage_events"), registered_handler("run_scheduled_work")

    async def sign_in_then_wait() -> list[int]:  # one event loop, as in the Functions worker
        await ingest(hub_batch("2", 1, [json.dumps(record).encode()], enqueued=enqueued))
        seen = [len(stub.received())]  # the deadline has not been looked at yet
        # WHEN the timer fires (twice: the second finds nothing due), and the change feed delivers
        await timer(TimerRequest(past_due=False))
        await change_feed(db)
        seen.append(len(stub.received()))
        await timer(TimerRequest(past_due=False))
        await change_feed(db)
        seen.append(len(stub.received()))
        return seen

    # THEN the absence rule fired for that user, once, on time alone
    assert asyncio.run(sign_in_then_wait()) == [0, 1, 1]
    assert [r["ContactKey"] for r in stub.received()] == ["quiet@contoso.com"]
    asyncio.run(store.close())
