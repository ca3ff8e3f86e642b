"""Fixtures the unit tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from shared.store.sqlite import SqliteStore


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    """A SQLite store in memory, closed after the test (a module may define its own ``store``)."""
    db = SqliteStore(":memory:")
    yield db
    asyncio.run(db.close())
