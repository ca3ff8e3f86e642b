"""The delivery audit port (``StateStore.record_deliveries``), every adapter: it takes a request's or a
batch's records in one call and touches neither state nor outbox. SQLite and memory keep them; Cosmos
DB keeps nothing (the audit there is the log record each action gets, in Application Insights)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.store import AuditOutcome, DeliveryRecord, EntityState, OutboxEntry, Store

pytestmark = [pytest.mark.anyio]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def record(key: str, outcome: AuditOutcome) -> DeliveryRecord:
    return DeliveryRecord(
        rule_id="r1", entity="8f2c…", destination="sfmc", kind="journey_entry", key=key, at=T0,
        attempts=0 if outcome is AuditOutcome.SHADOW else 1, outcome=outcome,
    )  # fmt: skip


async def test_recording_deliveries_changes_no_state_and_no_outbox(store: Store) -> None:
    # GIVEN an entity with its state and a pending outbox entry
    entry = OutboxEntry(entity="user-1", key="k9", action={"key": "k9", "kind": "journey_entry"}, created_at=T0)
    await store.states.save_states([EntityState(entity="user-1", data={"n": 1})], outbox=[entry])
    before = (await store.states.load_states(["user-1"]))["user-1"]
    # WHEN a request's records are recorded, and again (a replay)
    records = [record("k1", AuditOutcome.DELIVERED), record("k2", AuditOutcome.SHADOW)]
    await store.states.record_deliveries(records)
    await store.states.record_deliveries(records)
    await store.states.record_deliveries([])
    # THEN the state (etag included) and the outbox are as they were
    after = (await store.states.load_states(["user-1"]))["user-1"]
    assert (after.data, after.etag) == (before.data, before.etag)
    assert [e.key for e in await store.states.pending_outbox()] == ["k9"]
