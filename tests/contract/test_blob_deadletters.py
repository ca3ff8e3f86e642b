"""What only the Blob dead-letter adapter has: its container belongs to infra, large payloads fit."""

from __future__ import annotations

import uuid

import pytest
from azure.storage.blob.aio import ContainerClient

from shared.store import DeadLetter, StoreUnavailable
from shared.store.blob_deadletters import BlobDeadLetterStore
from tests.contract.azurite_server import LocalAzurite
from tests.contract.conftest import blob_deadletters

pytestmark = pytest.mark.anyio


async def test_a_missing_container_is_not_created_silently_and_names_the_setting(
    azurite: LocalAzurite,
) -> None:
    # GIVEN a sink whose container does not exist and may not be created (as in Azure)
    container = ContainerClient.from_connection_string(
        azurite.connection_string, f"absent-{uuid.uuid4().hex[:8]}"
    )
    sink = BlobDeadLetterStore(container)
    # WHEN a letter is written
    with pytest.raises(StoreUnavailable) as raised:
        await sink.write([DeadLetter(kind="event", reason="not JSON", payload=b"x")])
    await sink.close()
    # THEN the whole-batch error names the setting to fix
    assert "DEADLETTER_CONTAINER" in str(raised.value)


async def test_an_event_hub_sized_payload_is_kept_byte_for_byte(azurite: LocalAzurite) -> None:
    # GIVEN a 1 MB payload (the Event Hubs maximum; more than a Cosmos DB item could hold as base64)
    payload = bytes(range(256)) * 4096
    sink = blob_deadletters(azurite)
    # WHEN it is dead-lettered and listed
    await sink.write([DeadLetter(kind="event", reason="too deep", payload=payload, partition="0")])
    [letter] = await sink.list()
    await sink.close()
    # THEN the bytes come back unchanged
    assert letter.payload == payload
