"""The ``azurite`` fixture for tests outside tests/contract: Azurite's Blob service on a free port.

Import it into a test module (``from tests.azurite import azurite``); one Azurite per session. It runs
in memory with a generated account key (tests/contract/azurite_server.py); when Node.js or the npm
package is missing the tests FAIL and say to run ``make test``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.azurite_server import AzuriteMissing, LocalAzurite, start_local_azurite

__all__ = ["LocalAzurite", "azurite"]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAzurite]:
    try:
        server = start_local_azurite(tmp_path_factory.mktemp("azurite"))
    except AzuriteMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
