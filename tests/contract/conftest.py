"""One store contract, every adapter: each test taking ``store`` runs against memory, SQLite and
Cosmos DB (the local protocol server the session starts), and against a real Cosmos DB account
when ``COSMOS_TEST_ENDPOINT`` is set."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from azure.cosmos.aio import CosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from shared.store import DeadLetterStore, Store
from shared.store.blob_deadletters import BlobDeadLetterStore
from shared.store.cosmos import CosmosOptions, CosmosStore
from shared.store.cosmos_calls import CosmosRetry
from shared.store.memory import MemoryStore
from tests.contract.azurite_server import LocalAzurite
from tests.contract.cosmos_server import LocalCosmosServer

ACCOUNT_ENDPOINT = os.environ.get("COSMOS_TEST_ENDPOINT")

# What an adapter does not do yet: its tests are expected to fail (strictly: they turn red when the
# gap is closed, so the entry gets removed). Keyed by the feature a test declares with
# @pytest.mark.contract_feature("...").
ADAPTER_GAPS: dict[str, dict[str, str]] = {}

# The real-account run joins only when configured, so ordinary runs are not littered with skips.
ADAPTERS = ["memory", "sqlite", "cosmos"]
if ACCOUNT_ENDPOINT:
    ADAPTERS.append(pytest.param("cosmos-account", marks=pytest.mark.cosmos_account))  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract_feature(name): the store feature a contract test exercises")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def blob_deadletters(azurite: LocalAzurite) -> BlobDeadLetterStore:
    """Dead letters in a fresh blob container of the local Azurite."""
    name = f"deadletter-{uuid.uuid4().hex[:12]}"
    container = ContainerClient.from_connection_string(azurite.connection_string, name)
    return BlobDeadLetterStore(container, create_container=True)


@asynccontextmanager
async def local_cosmos_store(
    server: LocalCosmosServer,
    *,
    retry: CosmosRetry | None = None,
    create_containers: bool = True,
    azurite: LocalAzurite | None = None,
) -> AsyncIterator[CosmosStore]:
    """A store on a database of its own on the local server, dropped afterwards; dead letters in
    Azurite when given (as in Azure), else in memory."""
    database = f"squall-test-{uuid.uuid4().hex[:12]}"
    client = CosmosClient(server.endpoint, credential=server.key, connection_verify=False)
    options = CosmosOptions(
        database=database, create_containers=create_containers, retry=retry or CosmosRetry(base_delay_s=0.01)
    )
    deadletters: DeadLetterStore = blob_deadletters(azurite) if azurite else MemoryStore().deadletters
    closing = [deadletters] if isinstance(deadletters, BlobDeadLetterStore) else []
    store = CosmosStore(
        client, endpoint=server.endpoint, deadletters=deadletters, options=options, closing=closing
    )
    try:
        yield store
    finally:
        server.clear_faults()
        with contextlib.suppress(CosmosResourceNotFoundError):
            await client.delete_database(database)
        await store.close()


@asynccontextmanager
async def account_cosmos_store() -> AsyncIterator[CosmosStore]:
    """A store on a real account (COSMOS_TEST_ENDPOINT; COSMOS_TEST_KEY or else Entra ID)."""
    from azure.identity.aio import DefaultAzureCredential

    assert ACCOUNT_ENDPOINT is not None
    database = f"squall-test-{uuid.uuid4().hex[:12]}"
    key = os.environ.get("COSMOS_TEST_KEY")
    credential = None if key else DefaultAzureCredential()
    client = CosmosClient(ACCOUNT_ENDPOINT, credential=key or credential)
    options = CosmosOptions(database=database, create_containers=True)
    store = CosmosStore(
        client,
        endpoint=ACCOUNT_ENDPOINT,
        deadletters=MemoryStore().deadletters,
        options=options,
        credential=credential,
    )
    try:
        yield store
    finally:
        with contextlib.suppress(CosmosResourceNotFoundError):
            await client.delete_database(database)
        await store.close()


@asynccontextmanager
async def sqlite_store(path: Path) -> AsyncIterator[Store]:
    from shared.store.sqlite import SqliteStore

    store = SqliteStore(path)
    try:
        yield store  # type: ignore[misc]  # see ADAPTER_GAPS
    finally:
        await store.close()


@asynccontextmanager
async def memory_store() -> AsyncIterator[Store]:
    yield MemoryStore()


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    kind: str = request.param
    _expect_gap(request, kind)
    opening: contextlib.AbstractAsyncContextManager[Store]
    if kind == "memory":
        opening = memory_store()
    elif kind == "sqlite":
        opening = sqlite_store(tmp_path / "squall.db")
    elif kind == "cosmos":
        opening = local_cosmos_store(
            request.getfixturevalue("cosmos_server"), azurite=request.getfixturevalue("azurite")
        )
    else:
        opening = account_cosmos_store()
    async with opening as opened:
        yield opened


def _expect_gap(request: pytest.FixtureRequest, kind: str) -> None:
    marker = request.node.get_closest_marker("contract_feature")
    gap = ADAPTER_GAPS.get(kind, {}).get(marker.args[0]) if marker else None
    if gap:
        request.applymarker(pytest.mark.xfail(reason=gap, strict=True))
