"""Remembered keys (processed event ids, delivered action keys) in the Cosmos ``dedupe`` container.

Partition key ``/key``: one tiny item per key, whose ``ttl`` makes Cosmos DB delete it when the
window closes (the container has TTL on: ``defaultTtl = -1``). ``seen`` asks for a whole batch of
keys with one query per chunk instead of one point read per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from azure.cosmos.aio import ContainerProxy

from shared.store.cosmos_calls import CosmosCalls
from shared.store.cosmos_containers import DEDUPE, CosmosContainers

ITEM_ID = "seen"  # ids are unique per partition, and each key is its own partition
QUERY_CHUNK = 200  # keys per ARRAY_CONTAINS query
_SEEN_QUERY = "SELECT VALUE c.key FROM c WHERE ARRAY_CONTAINS(@keys, c.key)"


class CosmosDedupeStore:
    def __init__(self, containers: CosmosContainers, calls: CosmosCalls, *, concurrency: int = 32) -> None:
        self._containers = containers
        self._calls = calls
        self._limit = asyncio.Semaphore(concurrency)

    async def seen(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        container = await self._containers.get(DEDUPE)
        chunks = [wanted[i : i + QUERY_CHUNK] for i in range(0, len(wanted), QUERY_CHUNK)]
        found = await asyncio.gather(*(self._seen_chunk(container, chunk) for chunk in chunks))
        return set().union(*found)

    async def remember(self, keys: Iterable[str], *, ttl_s: int) -> None:
        container = await self._containers.get(DEDUPE)
        await asyncio.gather(*(self._remember_one(container, key, ttl_s) for key in set(keys)))

    async def _seen_chunk(self, container: ContainerProxy, chunk: list[str]) -> set[str]:
        params: list[dict[str, Any]] = [{"name": "@keys", "value": chunk}]

        async def run_query() -> set[str]:
            return {str(key) async for key in container.query_items(_SEEN_QUERY, parameters=params)}

        async with self._limit:
            return await self._calls.run(run_query, what=f"looking up {len(chunk)} remembered keys")

    async def _remember_one(self, container: ContainerProxy, key: str, ttl_s: int) -> None:
        item = {"id": ITEM_ID, "key": key, "ttl": max(1, int(ttl_s))}

        async def upsert() -> None:
            await container.upsert_item(item)

        async with self._limit:
            await self._calls.run(upsert, what="remembering a key")
