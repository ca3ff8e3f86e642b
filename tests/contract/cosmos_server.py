"""The local Cosmos DB protocol server of the tests: ``squall.bench.local_cosmos`` (one launcher for
the contract tests, the kill suite and the cost bench)."""

from __future__ import annotations

from squall.bench.local_cosmos import (
    LAUNCHER,
    PACKAGE,
    ROOT,
    CosmosServerMissing,
    LocalCosmosServer,
    start_local_cosmos_server,
)

__all__ = [
    "LAUNCHER",
    "PACKAGE",
    "ROOT",
    "CosmosServerMissing",
    "LocalCosmosServer",
    "start_local_cosmos_server",
]
