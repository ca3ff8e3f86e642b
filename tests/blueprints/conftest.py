"""Blueprint tests call the handlers the worker indexes in function_app.app, with real inputs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.settings import get_settings
from shared.store.sqlite import SqliteStore
from squall.function_index import indexed_functions, user_function
from squall.stub import MarketingCloudStub

JOURNEY_KEY = "APIEvent-teams-adoption"
RULES = [
    {
        "id": "teams-session",
        "description": "Teams session -> adoption journey",
        "when": {"source": "o365", "types": ["MicrosoftTeams/TeamsSessionStarted"]},
        "condition": {"field": "attributes.result_status", "op": "eq", "value": "succeeded"},
        "action": {
            "kind": "journey_entry",
            "event_definition_key": JOURNEY_KEY,
            "contact_key": "{entity}",
            "data": {"Tenant": "{tenant}", "Workload": "{attributes.workload}"},
        },
    }
]


def registered_functions() -> dict[str, Any]:
    """function_app.app's functions as the worker indexes them (one index per process, shared with
    the Cosmos cost bench: get_functions() refuses to build twice)."""
    return indexed_functions()


def registered_handler(name: str) -> Any:
    """The raw handler the worker calls for the function ``name``."""
    return user_function(name)


async def change_feed(db: Path) -> None:
    """What the Cosmos DB change feed does after a batch: hand the outbox documents to the
    ``deliver_outbox`` function. The blueprint tests keep the outbox in SQLite, so the documents are
    built from its pending entries in the layout the Cosmos container holds (``outbox_docs``)."""
    import azure.functions as func

    from shared.store import outbox_docs

    store = SqliteStore(db)
    try:
        pending = await store.states.pending_outbox(limit=10_000)
    finally:
        await store.close()
    documents = outbox_docs.as_documents(pending, now=datetime.now(UTC))
    await registered_handler("deliver_outbox")(func.DocumentList(func.Document.from_dict(d) for d in documents))


@pytest.fixture
def configured_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, Path]]:
    db = tmp_path / "squall.db"
    store = SqliteStore(db)
    asyncio.run(store.rules.save_ruleset("default", RULES))
    asyncio.run(store.close())
    with MarketingCloudStub(
        event_definition_keys={JOURNEY_KEY}, client_id="blueprint-test", client_secret="not-a-real-secret"
    ) as stub:
        monkeypatch.setenv("SQUALL_STORE", f"sqlite:{db}")
        monkeypatch.setenv("SFMC_AUTH_BASE_URL", stub.auth_base_url)
        monkeypatch.setenv("SFMC_REST_BASE_URL", stub.rest_base_url)
        monkeypatch.setenv("SFMC_CLIENT_ID", "blueprint-test")
        monkeypatch.setenv("SFMC_CLIENT_SECRET", "not-a-real-secret")
        get_settings.cache_clear()
        from functions import dependencies

        yield registered_handler("process_usage_events"), stub, db
        asyncio.run(dependencies.close_dependencies())
        get_settings.cache_clear()


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app on a fresh SQLite store (``SQUALL_STORE``), rule set ``default``; closed afterwards."""
    db = tmp_path / "squall.db"
    monkeypatch.setenv("SQUALL_STORE", f"sqlite:{db}")
    monkeypatch.setenv("SQUALL_RULESET", "default")
    get_settings.cache_clear()
    yield db
    from functions import dependencies

    asyncio.run(dependencies.close_dependencies())
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_worker_dependencies() -> Iterator[None]:
    """Each test is a fresh worker: the store and pipeline one test opened never serve the next."""
    yield
    from functions import dependencies

    asyncio.run(dependencies.close_dependencies())
