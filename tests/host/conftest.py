"""tests/host/: Squall's Function App in the real Python 3.13 Functions runtime, driven over the
host's worker protocol (see host_standin.py and worker_process.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.store.sqlite import SqliteStore
from squall.stub import MarketingCloudStub
from tests.blueprints.conftest import JOURNEY_KEY, RULES
from tests.host.host_standin import REPO_ROOT, WorkerProcess, compile_protos

__all__ = ["JOURNEY_KEY", "RULES", "App", "app_settings", "host_environment"]

CLIENT_ID = "host-test"
CLIENT_SECRET = "not-a-real-secret"
# Settings the host would not pass on from the test runner's own environment.
_OWN_SETTINGS = ("SQUALL_", "SFMC_", "EVENTHUB", "APPLICATIONINSIGHTS_", "AzureWebJobs", "FUNCTIONS_")


@pytest.fixture(scope="session")
def protos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("protos")


@pytest.fixture(scope="session")
def protos(protos_dir: Path) -> ModuleType:
    return compile_protos(protos_dir)


@dataclass
class App:
    """A started worker with the app indexed and loaded, and the peers it talks to."""

    worker: WorkerProcess
    functions: dict[str, Any]
    stub: MarketingCloudStub
    db: Path
    protos: ModuleType

    def function_id(self, name: str) -> str:
        return self.functions[name].function_id

    def store(self) -> SqliteStore:
        return SqliteStore(self.db)


def host_environment(**settings: str) -> dict[str, str]:
    """The worker's environment: the machine's, less Squall's own settings, plus the app settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)}
    env.update(FUNCTIONS_WORKER_RUNTIME="python", AzureWebJobsScriptRoot=str(REPO_ROOT), **settings)
    return env


def app_settings(db: Path, stub: MarketingCloudStub) -> dict[str, str]:
    return {
        "SQUALL_STORE": f"sqlite:{db}",
        "SQUALL_RULESET": "default",
        "EVENTHUB_NAME": "usage-events",
        "EVENTHUB_CONSUMER_GROUP": "squall",
        "EVENTHUB__fullyQualifiedNamespace": "squall-test.servicebus.windows.net",
        "SFMC_AUTH_BASE_URL": stub.auth_base_url,
        "SFMC_REST_BASE_URL": stub.rest_base_url,
        "SFMC_CLIENT_ID": CLIENT_ID,
        "SFMC_CLIENT_SECRET": CLIENT_SECRET,
    }


@pytest.fixture
def stub() -> Iterator[MarketingCloudStub]:
    with MarketingCloudStub(event_definition_keys={JOURNEY_KEY}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as s:
        yield s


@pytest.fixture
def stored_rules(tmp_path: Path) -> Path:
    db = tmp_path / "squall.db"

    async def save() -> None:
        store = SqliteStore(db)
        try:
            await store.rules.save_ruleset("default", RULES)
        finally:
            await store.close()

    asyncio.run(save())
    return db


@pytest.fixture
def app(
    protos: ModuleType, protos_dir: Path, tmp_path: Path, stub: MarketingCloudStub, stored_rules: Path
) -> Iterator[App]:
    """A worker started the ordinary way: init with the app's folder, index, load each function."""
    worker = WorkerProcess(
        protos, protos_dir, host_environment(**app_settings(stored_rules, stub)), tmp_path / "worker.log"
    )
    try:
        yield App(worker, worker.start(REPO_ROOT), stub, stored_rules, protos)
    finally:
        worker.close()
