"""The timer function delivers outbox entries a crashed batch left behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from shared.actions.models import ActionKind, PlannedAction
from shared.outbox_delivery import outbox_entries
from shared.store.models import OutboxEntry
from shared.store.sqlite import SqliteStore
from tests.blueprints.conftest import JOURNEY_KEY, registered_handler


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
