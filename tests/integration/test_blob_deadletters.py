"""Dead letters in Blob storage against Azurite: layout, metadata, reading API, settings and errors.

The reading API (list / list_summaries / get / delete) is also run against SQLite, so
``squall deadletter`` works the same on both.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.storage.blob.aio import ContainerClient

from shared.settings import Settings
from shared.store import DeadLetter, StoreError, StoreUnavailable
from shared.store.blob_deadletters import BlobDeadLetterStore, require_emulator
from shared.store.deadletter_archive import DeadLetterArchive
from shared.store.sqlite import SqliteStore
from tests.contract.azurite_server import LocalAzurite

pytestmark = pytest.mark.anyio

CREATED = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
O365_TEXT = b'{"Id": "o-1", "Operation": "FileUploaded", "note": "caf\xc3\xa9"}'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def container(azurite: LocalAzurite) -> AsyncIterator[ContainerClient]:
    """A fresh container of the local Azurite, read directly to see what the store wrote."""
    client = ContainerClient.from_connection_string(azurite.connection_string, f"dl-{uuid.uuid4().hex[:12]}")
    await client.create_container()
    yield client
    await client.delete_container()
    await client.close()


@pytest.fixture
async def blob_store(container: ContainerClient, azurite: LocalAzurite) -> AsyncIterator[BlobDeadLetterStore]:
    own = ContainerClient.from_connection_string(azurite.connection_string, container.container_name)
    store = BlobDeadLetterStore(own)
    yield store
    await store.close()


@pytest.fixture(params=["blob", "sqlite"])
async def archive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DeadLetterArchive]:
    """The same reading API on both adapters that keep dead letters for ``squall deadletter``."""
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "squall.db")
        yield sqlite.deadletters
        await sqlite.close()
        return
    azurite: LocalAzurite = request.getfixturevalue("azurite")
    name = f"dl-{uuid.uuid4().hex[:12]}"
    store = BlobDeadLetterStore(
        ContainerClient.from_connection_string(azurite.connection_string, name), create_container=True
    )
    await store.write([])  # creates the container
    yield store
    await store.close()


def rejected_event(**changes: object) -> DeadLetter:
    fields: dict = dict(
        kind="event", reason="not JSON: line 1", payload=b"\xff\x00{", partition="3", sequence_number=42,
        offset="1024", enqueued_time=CREATED, created_at=CREATED,
    )  # fmt: skip
    fields.update(changes)
    return DeadLetter(**fields)


def failed_action() -> DeadLetter:
    return DeadLetter(
        kind="action", reason="permanent: 400 bad contact", payload=b'{"contact_key":"c"}',
        event_id="e-1", rule_id="r1", action_key="k1", attempts=3,
    )  # fmt: skip


async def test_a_letter_is_one_blob_named_by_kind_day_partition_and_sequence(
    blob_store: BlobDeadLetterStore, container: ContainerClient
) -> None:
    # GIVEN a rejected event from partition 3, sequence 42, and an action with no provenance
    # WHEN both are written
    await blob_store.write([rejected_event(), failed_action()])
    # THEN each is one blob named {kind}/{yyyy}/{mm}/{dd}/{partition}/{sequence}-{uuid}.json
    names = sorted([blob.name async for blob in container.list_blobs()])
    today = datetime.now(UTC).strftime("%Y/%m/%d")
    assert re.fullmatch(rf"action/{today}/none/none-[0-9a-f]{{32}}\.json", names[0]), names
    assert re.fullmatch(r"event/2024/05/01/3/42-[0-9a-f]{32}\.json", names[1]), names


async def test_metadata_carries_kind_reason_partition_and_sequence_for_listing(
    blob_store: BlobDeadLetterStore, container: ContainerClient
) -> None:
    # GIVEN a rejected event written to the store
    await blob_store.write([rejected_event()])
    # WHEN the container is listed with metadata (no download)
    [blob] = [blob async for blob in container.list_blobs(include=["metadata"])]
    # THEN the metadata says what the letter is
    assert blob.metadata["kind"] == "event"
    assert blob.metadata["reason_code"] == "not JSON"
    assert (blob.metadata["partition"], blob.metadata["sequence"]) == ("3", "42")
    assert blob.metadata["payload_bytes"] == "3"


async def test_body_keeps_json_text_readable_and_other_bytes_as_base64(
    blob_store: BlobDeadLetterStore, container: ContainerClient
) -> None:
    # GIVEN a UTF-8 JSON payload and a binary one
    await blob_store.write([rejected_event(payload=O365_TEXT, sequence_number=1), rejected_event()])
    # WHEN the blob bodies are read directly
    bodies = {}
    async for blob in container.list_blobs():
        body = json.loads(await (await container.download_blob(blob.name)).readall())
        bodies[body["sequence_number"]] = body
    # THEN the JSON text is stored as text, the binary as base64, with reason and provenance
    assert bodies[1]["payload_encoding"] == "utf-8"
    assert bodies[1]["payload"].encode() == O365_TEXT
    assert bodies[42]["payload_encoding"] == "base64"
    assert base64.b64decode(bodies[42]["payload"]) == b"\xff\x00{"
    assert (bodies[42]["reason"], bodies[42]["partition"]) == ("not JSON: line 1", "3")


async def test_summaries_come_from_metadata_without_reading_the_body(
    blob_store: BlobDeadLetterStore, container: ContainerClient
) -> None:
    # GIVEN a letter whose body was damaged afterwards (its metadata kept)
    await blob_store.write([rejected_event()])
    [blob] = [blob async for blob in container.list_blobs(include=["metadata"])]
    await container.upload_blob(blob.name, b"not a letter", overwrite=True, metadata=blob.metadata)
    # WHEN it is listed as summaries
    [summary] = await blob_store.list_summaries()
    # THEN the summary is complete, so no body was parsed
    assert (summary.id, summary.kind, summary.reason) == (blob.name, "event", "not JSON: line 1")
    assert (summary.partition, summary.sequence_number, summary.payload_bytes) == ("3", 42, 3)
    assert summary.created_at == CREATED


async def test_reading_api_lists_oldest_first_filters_by_kind_and_gets_by_id(
    archive: DeadLetterArchive,
) -> None:
    # GIVEN an event and an action written together
    await archive.write([rejected_event(payload=O365_TEXT, created_at=None), failed_action()])
    # WHEN they are listed, filtered by kind and fetched by id
    both = await archive.list(limit=10)
    actions = await archive.list_summaries(kind="action")
    fetched = await archive.get(actions[0].id)
    # THEN the write order holds, the filter works and the letter comes back whole
    assert [letter.kind for letter in both] == ["event", "action"]
    assert both[0].payload == O365_TEXT and both[0].enqueued_time == CREATED
    assert [summary.kind for summary in actions] == ["action"]
    assert fetched is not None and fetched.id == actions[0].id
    assert (fetched.rule_id, fetched.action_key, fetched.attempts) == ("r1", "k1", 3)
    assert fetched.created_at is not None and fetched.created_at.tzinfo is not None


async def test_reading_api_deletes_once_and_unknown_ids_are_absent(archive: DeadLetterArchive) -> None:
    # GIVEN one stored letter
    await archive.write([rejected_event()])
    [summary] = await archive.list_summaries()
    # WHEN it is deleted twice and fetched afterwards
    first, second = await archive.delete(summary.id), await archive.delete(summary.id)
    # THEN only the first delete found it, and it is gone
    assert (first, second) == (True, False)
    assert await archive.get(summary.id) is None
    assert await archive.get("no-such-letter") is None
    assert await archive.list() == []


async def test_limit_keeps_the_oldest(archive: DeadLetterArchive) -> None:
    # GIVEN three letters written in order
    for sequence in (1, 2, 3):
        await archive.write([rejected_event(sequence_number=sequence, created_at=None)])
    # WHEN two are listed
    oldest = await archive.list_summaries(limit=2)
    # THEN they are the first two written
    assert [summary.sequence_number for summary in oldest] == [1, 2]


async def test_from_settings_uses_an_emulator_connection_string(
    azurite: LocalAzurite, container: ContainerClient
) -> None:
    # GIVEN settings naming Azurite by connection string, and the container
    settings = Settings.model_validate(
        {
            "DEADLETTER_CONNECTION_STRING": azurite.connection_string,
            "DEADLETTER_CONTAINER": container.container_name,
        }
    )
    store = BlobDeadLetterStore.from_settings(settings)
    # WHEN a letter is written through it
    await store.write([rejected_event()])
    await store.close()
    # THEN it landed in that container
    assert len([blob async for blob in container.list_blobs()]) == 1


@pytest.mark.parametrize(
    "connection_string",
    [
        "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=ZmFrZQ==;EndpointSuffix=core.windows.net",
        "BlobEndpoint=https://prod.blob.core.windows.net/;SharedAccessSignature=sv=fake",
    ],
)
def test_a_connection_string_for_an_azure_account_is_refused(connection_string: str) -> None:
    # WHEN a connection string names a real Azure storage account
    with pytest.raises(StoreError) as raised:
        require_emulator(connection_string)
    # THEN it is refused, pointing at the identity setting
    assert "DEADLETTER__blobServiceUri" in str(raised.value)


def test_the_development_storage_shortcut_is_accepted() -> None:
    # WHEN the emulator shortcut is used THEN it passes the emulator check
    require_emulator("UseDevelopmentStorage=true")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "DEADLETTER__blobServiceUri"),
        (
            {
                "DEADLETTER__blobServiceUri": "https://a.blob.core.windows.net",
                "DEADLETTER_CONNECTION_STRING": "UseDevelopmentStorage=true",
            },
            "not both",
        ),
    ],
)
def test_from_settings_names_the_settings_to_fix(values: dict[str, str], expected: str) -> None:
    # WHEN the store is built from incomplete or conflicting settings
    with pytest.raises(StoreError) as raised:
        BlobDeadLetterStore.from_settings(Settings.model_validate(values))
    # THEN the error names the setting
    assert expected in str(raised.value)


async def test_a_missing_container_on_listing_names_the_setting(azurite: LocalAzurite) -> None:
    # GIVEN a store whose container does not exist
    name = f"absent-{uuid.uuid4().hex[:8]}"
    store = BlobDeadLetterStore(ContainerClient.from_connection_string(azurite.connection_string, name))
    # WHEN it is listed
    with pytest.raises(StoreUnavailable) as raised:
        await store.list_summaries()
    await store.close()
    # THEN the error names the container setting
    assert "DEADLETTER_CONTAINER" in str(raised.value)


async def test_an_unreachable_service_is_unavailable_and_names_the_settings() -> None:
    # GIVEN a blob endpoint where nothing listens (and no SDK retries, to keep the test quick)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;BlobEndpoint=http://127.0.0.1:{port}/x;"
    )
    store = BlobDeadLetterStore(ContainerClient.from_connection_string(connection, "dl", retry_total=0))
    # WHEN a letter is written
    with pytest.raises(StoreUnavailable) as raised:
        await store.write([rejected_event()])
    await store.close()
    # THEN the whole-batch error says which setting to check
    assert "DEADLETTER__blobServiceUri" in str(raised.value)
