"""What only the Cosmos DB adapter has: containers, throttling, outages, settings, the real account."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from azure.cosmos.aio import CosmosClient

from shared.settings import Settings
from shared.store import EntityState, StoreError, StoreUnavailable
from shared.store.cosmos import CosmosOptions, CosmosStore
from shared.store.cosmos_calls import CosmosRetry
from shared.store.memory import MemoryStore
from shared.wiring import open_store
from tests.contract.conftest import ACCOUNT_ENDPOINT, account_cosmos_store, local_cosmos_store
from tests.contract.cosmos_server import LocalCosmosServer

pytestmark = pytest.mark.anyio


async def test_created_containers_have_the_designed_partition_keys_and_dedupe_ttl(
    cosmos_server: LocalCosmosServer,
) -> None:
    # GIVEN a store allowed to create its containers
    async with local_cosmos_store(cosmos_server) as store:
        # WHEN each port is used once
        await store.rules.ruleset_version("default")
        await store.states.load_states(["user-1"])
        await store.dedupe.seen(["event:a"])
        # THEN the containers exist with DESIGN §5's partition keys, TTL on for dedupe only
        containers = store.rules._containers  # the one resolver all three ports share
        rules, state, dedupe = [
            await (await containers.get(role)).read() for role in ("rules", "state", "dedupe")
        ]
    assert [c["partitionKey"]["paths"] for c in (rules, state, dedupe)] == [
        ["/ruleset"],
        ["/entity"],
        ["/key"],
    ]
    assert dedupe["defaultTtl"] == -1
    assert "defaultTtl" not in state


async def test_missing_containers_are_never_created_silently(cosmos_server: LocalCosmosServer) -> None:
    # GIVEN a store that may not create containers (as in Azure), on an empty database
    async with local_cosmos_store(cosmos_server, create_containers=False) as store:
        # WHEN it is used
        with pytest.raises(StoreUnavailable) as raised:
            await store.states.load_states(["user-1"])
    # THEN the error names the container, the settings and the fix
    message = str(raised.value)
    assert "'state'" in message
    assert "COSMOS_STATE_CONTAINER" in message
    assert "COSMOS_CREATE_CONTAINERS" in message


async def test_throttled_requests_are_retried_until_they_succeed(cosmos_server: LocalCosmosServer) -> None:
    async with local_cosmos_store(cosmos_server) as store:
        await store.states.load_states(["warm-up"])  # containers exist: faults hit the data calls only
        # GIVEN a server answering the next 12 item requests with 429 (more than the SDK retries alone)
        cosmos_server.inject_fault(429, count=12, retry_after_ms=5)
        # WHEN a state is saved
        await store.states.save_states([_new_state("user-1")])
        # THEN it was stored once the throttling passed
        assert (await store.states.load_states(["user-1"]))["user-1"].data == {"n": 1}


async def test_persistent_throttling_raises_store_unavailable_with_the_retry_hint(
    cosmos_server: LocalCosmosServer,
) -> None:
    async with local_cosmos_store(cosmos_server, retry=CosmosRetry(attempts=2, base_delay_s=0.01)) as store:
        await store.dedupe.seen(["warm-up"])
        # GIVEN a server that keeps throttling, asking for 40 ms
        cosmos_server.inject_fault(429, count=1000, retry_after_ms=40)
        # WHEN a key is remembered
        with pytest.raises(StoreUnavailable) as raised:
            await store.dedupe.remember(["event:a"], ttl_s=60)
    # THEN the whole-batch error carries the service's hint and names the endpoint setting
    assert raised.value.retry_after == pytest.approx(0.04)
    assert "HTTP 429" in str(raised.value)
    assert "COSMOS_ENDPOINT" in str(raised.value)


async def test_a_brief_503_is_retried_and_a_lasting_one_raises_store_unavailable(
    cosmos_server: LocalCosmosServer,
) -> None:
    async with local_cosmos_store(cosmos_server, retry=CosmosRetry(attempts=3, base_delay_s=0.01)) as store:
        await store.rules.ruleset_version("warm-up")
        # GIVEN one 503, then a save
        cosmos_server.inject_fault(503, count=1)
        version = await store.rules.save_ruleset("default", [])
        # WHEN the service stays unavailable
        cosmos_server.inject_fault(503, count=1000)
        with pytest.raises(StoreUnavailable) as raised:
            await store.rules.ruleset_version("default")
    # THEN the brief outage was absorbed and the lasting one named
    assert version == 1
    assert "HTTP 503" in str(raised.value)


async def test_a_store_that_is_down_raises_store_unavailable() -> None:
    # GIVEN an endpoint where nothing listens
    endpoint = f"https://127.0.0.1:{_closed_port()}"
    client = CosmosClient(endpoint, credential="ZmFrZS1sb2NhbC1rZXk=", connection_verify=False, retry_total=0)
    options = CosmosOptions(create_containers=True, retry=CosmosRetry(attempts=2, base_delay_s=0.01))
    store = CosmosStore(client, endpoint=endpoint, deadletters=MemoryStore().deadletters, options=options)
    # WHEN the store is used
    with pytest.raises(StoreUnavailable) as raised:
        await store.dedupe.seen(["event:a"])
    await store.close()
    # THEN the named whole-batch error says where it tried
    assert endpoint in str(raised.value)


async def test_open_store_builds_a_cosmos_store_from_settings_with_an_emulator_key(
    cosmos_server: LocalCosmosServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN settings for a local emulator (key auth, containers created on first use)
    monkeypatch.chdir(tmp_path)  # dead letters fall back to a local SQLite file under .squall/
    settings = Settings(
        COSMOS_ENDPOINT=cosmos_server.endpoint, COSMOS_KEY=cosmos_server.key, COSMOS_CREATE_CONTAINERS=True,
        COSMOS_DATABASE="squall-settings", COSMOS_STATE_CONTAINER="entity-state",
    )  # fmt: skip
    # WHEN the store is opened from them and used
    store = await open_store("cosmos", settings)
    try:
        await store.rules.save_ruleset("default", [{"id": "r1"}])
        version = await store.rules.ruleset_version("default")
        await store.states.save_states([_new_state("user-1")])
    finally:
        await store.close()
    # THEN it talked to the configured account, database and container names
    assert isinstance(store, CosmosStore)
    assert version == 1
    assert (tmp_path / ".squall" / "deadletters.db").exists()


async def test_cosmos_store_without_an_endpoint_names_the_setting() -> None:
    with pytest.raises(StoreError, match="COSMOS_ENDPOINT"):
        await open_store("cosmos", Settings())


async def test_unknown_store_spec_names_the_choices() -> None:
    with pytest.raises(StoreError, match="memory, sqlite:PATH or cosmos"):
        await open_store("mongodb://x", Settings())


@pytest.mark.cosmos_account
@pytest.mark.skipif(
    not ACCOUNT_ENDPOINT,
    reason="server gap: @vercel/cosmosdb-server stores TTL but never expires items (our launcher emulates it), "
    "so only a real account proves the service's own expiry; set COSMOS_TEST_ENDPOINT to run it",
)
async def test_real_account_hides_expired_keys_by_itself() -> None:
    """The local server's TTL is the launcher's emulation; only the service proves its own."""
    async with account_cosmos_store() as store:
        await store.dedupe.remember(["event:brief"], ttl_s=1)
        await asyncio.sleep(3)
        assert await store.dedupe.seen(["event:brief"]) == set()


def _new_state(entity: str) -> EntityState:
    return EntityState(entity=entity, data={"n": 1})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
