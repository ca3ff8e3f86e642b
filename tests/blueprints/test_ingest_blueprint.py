"""The Event Hub function, called as the worker calls it: real EventHubEvents, stub over HTTP."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter

from shared.store.sqlite import SqliteStore
from tests.blueprints.conftest import JOURNEY_KEY, change_feed


def o365_record(record_id: str, user: str, operation: str = "TeamsSessionStarted") -> bytes:
    return json.dumps(
        {
            "CreationTime": "2026-11-20T09:15:00",
            "Id": record_id,
            "Operation": operation,
            "OrganizationId": "b7f3c1de-0000-4000-8000-00000000a001",
            "RecordType": 25,
            "ResultStatus": "Succeeded",
            "UserKey": f"{user}-key",
            "UserType": 0,
            "Version": 1,
            "Workload": "MicrosoftTeams",
            "UserId": user,
            "ClientIP": "203.0.113.7",
        }
    ).encode()


def hub_batch(
    partition: str, first_sequence: int, bodies: list[bytes], *, enqueued: str = "2026-11-20T09:16"
) -> list[Any]:
    """Decode a cardinality=many batch with the worker's own converter, as the host would send it.

    ``enqueued`` is the minute the hub enqueued them (``YYYY-MM-DDTHH:MM``, UTC); an event time more than
    SQUALL_MAX_CLOCK_SKEW after it is dead-lettered."""
    system = [
        {
            "SequenceNumber": first_sequence + i,
            "Offset": 4096 * (first_sequence + i),
            "PartitionKey": None,
            "EnqueuedTimeUtc": f"{enqueued}:{i:02d}.000Z",
        }
        for i in range(len(bodies))
    ]
    metadata = {
        "SystemPropertiesArray": meta.Datum(type="json", value=json.dumps(system)),
        "PropertiesArray": meta.Datum(type="json", value=json.dumps([{} for _ in bodies])),
        "PartitionContext": meta.Datum(
            type="json",
            value=json.dumps({"EventHubName": "usage-events", "ConsumerGroup": "squall", "PartitionId": partition}),
        ),
    }
    data = meta.Datum(type="collection_bytes", value=SimpleNamespace(bytes=bodies))
    return EventHubTriggerConverter.decode(data, trigger_metadata=metadata)


def test_batches_from_two_partitions_reach_the_stub_and_the_malformed_event_is_dead_lettered(
    configured_app,
) -> None:
    handler, stub, db = configured_app
    # GIVEN two partitions' batches: three Teams sessions, one Exchange event no rule wants, one broken body
    batch_p0 = hub_batch(
        "0",
        100,
        [o365_record("e-1", "ana@contoso.com"), b'{"Id": "broken', o365_record("e-2", "bo@contoso.com")],
    )
    batch_p7 = hub_batch(
        "7",
        5,
        [o365_record("e-3", "cy@fabrikam.com"), o365_record("e-4", "di@contoso.com", "MailItemsAccessed")],
    )

    # WHEN the function runs for each batch, as the host would call it, and the outbox's change feed
    # hands what they planned to the delivery function
    async def invoke() -> None:
        await handler(batch_p0)
        await handler(batch_p7)
        assert stub.received() == []  # ingestion never waits on the destination
        await change_feed(db)

    asyncio.run(invoke())

    # THEN the stub received exactly the three journey entries over HTTP
    received = stub.received()
    assert sorted(r["ContactKey"] for r in received) == [
        "ana@contoso.com",
        "bo@contoso.com",
        "cy@fabrikam.com",
    ]
    assert {r["EventDefinitionKey"] for r in received} == {JOURNEY_KEY}
    assert received[0]["Data"]["Workload"] == "MicrosoftTeams"
    # AND the malformed body was dead-lettered with its reason, partition and sequence number
    store = SqliteStore(db)
    letters = asyncio.run(store.deadletters.list())
    asyncio.run(store.close())
    assert len(letters) == 1
    assert letters[0].kind == "event"
    assert "invalid JSON" in letters[0].reason
    assert (letters[0].partition, letters[0].sequence_number) == ("0", 101)
    assert letters[0].payload == b'{"Id": "broken'


def test_a_replayed_batch_sends_nothing_twice(configured_app) -> None:
    handler, stub, db = configured_app
    from functions import dependencies

    async def processed_then_replayed() -> None:  # one event loop, as in the Functions worker
        # GIVEN a batch that was processed and delivered once
        await handler(hub_batch("3", 0, [o365_record("r-1", "ed@contoso.com")]))
        await change_feed(db)
        # WHEN the host replays it (its checkpoint was lost) to a new worker process
        await dependencies.close_dependencies()
        await handler(hub_batch("3", 0, [o365_record("r-1", "ed@contoso.com")]))
        await change_feed(db)

    asyncio.run(processed_then_replayed())
    # THEN the stub holds the journey entry once
    assert [r["ContactKey"] for r in stub.received()] == ["ed@contoso.com"]
