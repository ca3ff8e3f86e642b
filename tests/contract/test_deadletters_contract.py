"""Dead letters keep the original bytes, the reason and where the item came from (every adapter)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.store import DeadLetter, Store

pytestmark = pytest.mark.anyio


async def test_dead_letters_keep_bytes_reason_and_provenance_in_order(store: Store) -> None:
    # GIVEN a rejected event and a failed action
    enqueued = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    event = DeadLetter(
        kind="event", reason="not JSON", payload=b"\xff\x00{", partition="3", sequence_number=42,
        offset="1024", enqueued_time=enqueued,
    )  # fmt: skip
    action = DeadLetter(
        kind="action", reason="permanent: 400", payload=b"{}", rule_id="r1", action_key="k1", attempts=3
    )
    # WHEN they are written and listed
    await store.deadletters.write([event, action])
    letters = await store.deadletters.list(limit=10)
    # THEN both come back as written, stamped with a timezone-aware time
    assert [(d.kind, d.reason, d.payload) for d in letters] == [
        ("event", "not JSON", b"\xff\x00{"),
        ("action", "permanent: 400", b"{}"),
    ]
    assert (letters[0].partition, letters[0].sequence_number, letters[0].offset) == ("3", 42, "1024")
    assert letters[0].enqueued_time == enqueued
    assert (letters[1].rule_id, letters[1].action_key, letters[1].attempts) == ("r1", "k1", 3)
    assert all(d.created_at is not None and d.created_at.tzinfo is not None for d in letters)
