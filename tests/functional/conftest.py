"""Fixtures for tests that talk to the Marketing Cloud stub; the setup itself lives in delivery_support."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import stub_with_known_credentials


@pytest.fixture
def stub_options() -> dict[str, Any]:
    """Extra options for the ``stub`` fixture; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def stub(stub_options: dict[str, Any]) -> Iterator[MarketingCloudStub]:
    """A running stub that knows the test credentials and journey key (see delivery_support)."""
    with stub_with_known_credentials(**stub_options) as running:
        yield running


@pytest.fixture
def http(stub: MarketingCloudStub) -> Iterator[httpx.Client]:
    """A plain HTTP client for the running stub, without a token."""
    with httpx.Client(base_url=stub.base_url) as client:
        yield client


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A rule folder with the store tests' two rules (``test_rules_store_cli.COPILOT`` and ``TEAMS``)."""
    from tests.functional.test_rules_store_cli import COPILOT, TEAMS

    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "copilot.yaml").write_text(COPILOT)
    (folder / "teams.yaml").write_text(TEAMS)
    return folder
