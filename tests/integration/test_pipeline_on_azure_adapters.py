"""The Function as configured in Azure — Cosmos DB store, Blob dead letters — against local peers.

The Cosmos DB protocol server and Azurite stand in for the Azure services (started by the session
fixtures in tests/conftest.py); the Marketing Cloud stub answers over real HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from functions import dependencies
from shared.settings import Settings, get_settings
from shared.wiring import open_store
from squall.stub import MarketingCloudStub
from tests.blueprints.conftest import JOURNEY_KEY, RULES, registered_handler
from tests.blueprints.test_ingest_blueprint import hub_batch, o365_record
from tests.crash.handler_process import changed_outbox_documents


@pytest.fixture
def azure_like_app(cosmos_server: Any, azurite: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    database = f"squall-it-{id(monkeypatch)}"
    env = {
        "SQUALL_STORE": "cosmos",
        "COSMOS_ENDPOINT": cosmos_server.endpoint,
        "COSMOS_KEY": cosmos_server.key,
        "COSMOS_DATABASE": database,
        "COSMOS_CREATE_CONTAINERS": "true",
        "DEADLETTER_CONNECTION_STRING": azurite.connection_string,
        "DEADLETTER_CONTAINER": "deadletter-it",
        "SFMC_CLIENT_ID": "azure-like",
        "SFMC_CLIENT_SECRET": "not-a-real-secret",
    }
    with MarketingCloudStub(
        event_definition_keys={JOURNEY_KEY}, client_id="azure-like", client_secret="not-a-real-secret"
    ) as stub:
        env |= {"SFMC_AUTH_BASE_URL": stub.auth_base_url, "SFMC_REST_BASE_URL": stub.rest_base_url}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        asyncio.run(_push_rules(Settings()))
        yield registered_handler("process_usage_events"), stub
        get_settings.cache_clear()


async def _push_rules(settings: Settings) -> None:
    store = await open_store("cosmos", settings)
    try:
        await store.rules.save_ruleset("default", RULES)
    finally:
        await store.close()


async def _dead_letters(settings: Settings) -> list[Any]:
    store = await open_store("cosmos", settings)
    try:
        return await store.deadletters.list()
    finally:
        await store.close()


def test_function_on_cosmos_and_blob_delivers_once_and_parks_bad_input(azure_like_app) -> None:
    handler, stub = azure_like_app
    # GIVEN a partition's batch with two Teams sessions and a malformed body
    bodies = [o365_record("az-1", "ana@contoso.com"), b"\x00not json", o365_record("az-2", "bo@contoso.com")]

    async def run_and_replay() -> list[Any]:
        # One event loop throughout, as in the Functions worker (the SDK clients belong to it).
        relay = registered_handler("deliver_outbox")
        try:
            await handler(hub_batch("5", 70, bodies))
            await relay(changed_outbox_documents())  # the outbox's change feed
            await dependencies.close_dependencies()  # the host replays the batch to a new instance
            await handler(hub_batch("5", 70, bodies))
            await relay(changed_outbox_documents())
        finally:
            await dependencies.close_dependencies()
        return await _dead_letters(Settings())

    # WHEN the function runs it, and the host replays it
    letters = asyncio.run(run_and_replay())
    # THEN the stub holds each journey entry once
    assert sorted(r["ContactKey"] for r in stub.received()) == ["ana@contoso.com", "bo@contoso.com"]
    # AND the malformed body sits in Blob storage once, with its reason and provenance
    assert [(letter.partition, letter.sequence_number) for letter in letters] == [("5", 71)]
    assert "invalid JSON" in letters[0].reason and letters[0].payload == b"\x00not json"
