"""Finding (or, locally, creating) Squall's four Cosmos DB containers on first use.

In Azure the containers belong to the Bicep templates, so a missing one is an error that names the
fix, never a silent create. With ``create=True`` (``COSMOS_CREATE_CONTAINERS``, for emulators and
the local test server) the database and containers are created with the right partition keys.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from azure.cosmos import PartitionKey
from azure.cosmos.aio import ContainerProxy, CosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError

from shared.store.cosmos_calls import CosmosCalls
from shared.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

RULES = "rules"
STATE = "state"
DEDUPE = "dedupe"
OUTBOX = "outbox"

PARTITION_KEYS = {RULES: "/ruleset", STATE: "/entity", DEDUPE: "/key", OUTBOX: "/id"}
_SETTING = {
    RULES: "COSMOS_RULES_CONTAINER",
    STATE: "COSMOS_STATE_CONTAINER",
    DEDUPE: "COSMOS_DEDUPE_CONTAINER",
    OUTBOX: "COSMOS_OUTBOX_CONTAINER",
}
_WITH_TTL = frozenset({DEDUPE, OUTBOX})  # items set their own ttl (dedupe keys, outbox tombstones)


@dataclass(frozen=True, slots=True)
class ContainerNames:
    """Container names (settings); the partition key paths are fixed by the data model."""

    rules: str = "rules"
    state: str = "state"
    dedupe: str = "dedupe"
    outbox: str = "outbox"

    def of(self, role: str) -> str:
        return {RULES: self.rules, STATE: self.state, DEDUPE: self.dedupe, OUTBOX: self.outbox}[role]


class CosmosContainers:
    """Resolves each container once per store instance, checking its partition key."""

    def __init__(
        self, client: CosmosClient, calls: CosmosCalls, *, database: str, names: ContainerNames, create: bool
    ) -> None:
        self._client = client
        self._calls = calls
        self._database = database
        self._names = names
        self._create = create
        self._resolved: dict[str, ContainerProxy] = {}
        self._lock = asyncio.Lock()

    async def get(self, role: str) -> ContainerProxy:
        if role in self._resolved:
            return self._resolved[role]
        async with self._lock:
            if role not in self._resolved:
                self._resolved[role] = await self._resolve(role)
        return self._resolved[role]

    async def _resolve(self, role: str) -> ContainerProxy:
        name = self._names.of(role)
        what = f"opening container {self._database}/{name}"
        if self._create:
            return await self._calls.run(lambda: self._create_container(role, name), what=what)
        container = self._client.get_database_client(self._database).get_container_client(name)
        properties = await self._calls.run(lambda: self._read_properties(container, role, name), what=what)
        self._check(role, name, properties)
        return container

    async def _create_container(self, role: str, name: str) -> ContainerProxy:
        database = await self._client.create_database_if_not_exists(self._database)
        return await database.create_container_if_not_exists(
            id=name,
            partition_key=PartitionKey(path=PARTITION_KEYS[role]),
            default_ttl=-1 if role in _WITH_TTL else None,  # -1: TTL on, each item sets its own
        )

    async def _read_properties(self, container: ContainerProxy, role: str, name: str) -> dict[str, Any]:
        try:
            return await container.read()
        except CosmosResourceNotFoundError as exc:
            raise StoreUnavailable(
                f"Cosmos DB container {name!r} (partition key {PARTITION_KEYS[role]}) is missing from "
                f"database {self._database!r}: deploy infra/ (Bicep owns the containers), check "
                f"COSMOS_DATABASE and {_SETTING[role]}, or set COSMOS_CREATE_CONTAINERS=true for an emulator"
            ) from exc

    def _check(self, role: str, name: str, properties: dict[str, Any]) -> None:
        paths = (properties.get("partitionKey") or {}).get("paths") or []
        if paths != [PARTITION_KEYS[role]]:
            raise StoreUnavailable(
                f"Cosmos DB container {name!r} is partitioned by {paths}, Squall needs "
                f"{PARTITION_KEYS[role]} ({_SETTING[role]})"
            )
        if role in _WITH_TTL and properties.get("defaultTtl") is None:
            log.warning("Cosmos DB container %r has no default TTL: remembered keys will never expire", name)
