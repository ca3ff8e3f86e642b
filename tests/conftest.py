"""Fixtures every test folder may use: the local protocol peers, one of each per session.

Azurite (Blob storage) and the Cosmos DB server come from ``node_modules`` (``make test`` runs
``npm ci``); when Node.js or a package is missing the tests FAIL and say to run ``make test``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.azurite_server import AzuriteMissing, LocalAzurite, start_local_azurite
from tests.contract.cosmos_server import CosmosServerMissing, LocalCosmosServer, start_local_cosmos_server


@pytest.fixture(scope="session")
def cosmos_server() -> Iterator[LocalCosmosServer]:
    try:
        server = start_local_cosmos_server()
    except CosmosServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAzurite]:
    try:
        server = start_local_azurite(tmp_path_factory.mktemp("azurite"))
    except AzuriteMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
