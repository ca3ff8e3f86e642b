"""Entity state and its outbox in the Cosmos ``state`` container (partition key ``/entity``).

Each entity's partition holds one ``state`` item and one item per pending outbox entry. A save is
one transactional batch per entity: the state (created, or replaced under its ETag) and the new
outbox entries (upserted by idempotency key) commit together or not at all. Entities are written
concurrently; a 412/409 on one of them is a ``ConcurrencyConflict`` for that entity only.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.cosmos.aio import ContainerProxy
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosResourceNotFoundError

from shared.store.cosmos_calls import CosmosCalls
from shared.store.cosmos_containers import STATE, CosmosContainers
from shared.store.errors import ConcurrencyConflict
from shared.store.models import EntityState, OutboxEntry

STATE_ID = "state"
STATE_TYPE = "state"
OUTBOX_TYPE = "outbox"
BATCH_LIMIT = 100  # operations per Cosmos DB transactional batch
_CONFLICT = frozenset({404, 409, 412})  # 404: the state was deleted under us

T = TypeVar("T")


def outbox_id(key: str) -> str:
    """Item ids may not contain / \\ ? #; idempotency keys are not ours to restrict."""
    return "outbox-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def outbox_item(entry: OutboxEntry, *, now: datetime) -> dict[str, Any]:
    created = entry.created_at or now
    return {
        "id": outbox_id(entry.key), "entity": entry.entity, "type": OUTBOX_TYPE, "key": entry.key,
        "action": entry.action, "created_at": created.isoformat(), "attempts": entry.attempts,
    }  # fmt: skip


def outbox_entry(item: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        entity=item["entity"], key=item["key"], action=item["action"],
        created_at=datetime.fromisoformat(item["created_at"]), attempts=int(item.get("attempts", 0)),
    )  # fmt: skip


def due_text(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601 (``2024-05-01T08:00:00.000000Z``): Cosmos compares strings, so
    ``c.due_at <= @now`` is a time comparison only when every value has this one shape."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def state_operation(state: EntityState) -> tuple[Any, ...]:
    item = {"id": STATE_ID, "entity": state.entity, "type": STATE_TYPE, "data": state.data}
    if state.due_at is not None:  # absent, not null: the due query and its index skip the item
        item["due_at"] = due_text(state.due_at)
    if state.etag is None:
        return ("create", (item,))
    return ("replace", (STATE_ID, item), {"if_match_etag": state.etag})


class CosmosStateStore:
    def __init__(self, containers: CosmosContainers, calls: CosmosCalls, *, concurrency: int = 32) -> None:
        self._containers = containers
        self._calls = calls
        self._limit = asyncio.Semaphore(concurrency)

    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        container = await self._containers.get(STATE)
        loaded = await asyncio.gather(*(self._load_one(container, e) for e in set(entities)))
        return {state.entity: state for state in loaded if state is not None}

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        container = await self._containers.get(STATE)
        entries: dict[str, list[OutboxEntry]] = {}
        for entry in outbox:
            entries.setdefault(entry.entity, []).append(entry)
        saves = [self._save_one(container, s, entries.pop(s.entity, [])) for s in states]
        saves += [self._save_outbox_only(container, e, found) for e, found in entries.items()]
        committed = await asyncio.gather(*saves)
        conflicts = [state.entity for state, ok in zip(states, committed, strict=False) if not ok]
        if conflicts:
            raise ConcurrencyConflict(conflicts[0])

    async def pending_outbox(self, *, limit: int = 100, entities: Iterable[str] | None = None) -> list[OutboxEntry]:
        container = await self._containers.get(STATE)
        where = "c.type = @type"
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@type", "value": OUTBOX_TYPE},
        ]
        if entities is not None:
            where += " AND ARRAY_CONTAINS(@entities, c.entity)"
            params.append({"name": "@entities", "value": sorted(set(entities))})
        query = f"SELECT TOP @limit * FROM c WHERE {where} ORDER BY c.created_at"

        async def run_query() -> list[dict[str, Any]]:
            return [item async for item in container.query_items(query, parameters=params)]

        items = await self._calls.run(run_query, what="listing pending outbox entries")
        return [outbox_entry(item) for item in items]

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        container = await self._containers.get(STATE)

        def delete(entry: OutboxEntry) -> Callable[[], Awaitable[None]]:
            async def request() -> None:
                try:
                    await container.delete_item(outbox_id(entry.key), partition_key=entry.entity)
                except CosmosResourceNotFoundError:
                    return

            return request

        await asyncio.gather(*(self._run(delete(e), what=f"completing outbox entry of {e.entity!r}") for e in entries))

    async def due_entities(self, now: datetime, *, limit: int = 500) -> list[str]:
        """A cross-partition query on the top-level ``due_at`` (range-indexed by the default policy)."""
        container = await self._containers.get(STATE)
        query = (
            "SELECT TOP @limit c.entity FROM c WHERE c.type = @type AND IS_DEFINED(c.due_at)"
            " AND c.due_at <= @now ORDER BY c.due_at"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@type", "value": STATE_TYPE},
            {"name": "@now", "value": due_text(now)},
        ]

        async def run_query() -> list[str]:
            return [item["entity"] async for item in container.query_items(query, parameters=params)]

        return await self._calls.run(run_query, what="listing entities with due deadlines")

    async def _load_one(self, container: ContainerProxy, entity: str) -> EntityState | None:
        async def read() -> EntityState | None:
            try:
                item = await container.read_item(STATE_ID, partition_key=entity)
            except CosmosResourceNotFoundError:
                return None
            due = item.get("due_at")
            return EntityState(
                entity=entity,
                data=item.get("data") or {},
                etag=item["_etag"],
                due_at=datetime.fromisoformat(due) if isinstance(due, str) else None,
            )

        return await self._run(read, what=f"reading state of {entity!r}")

    async def _save_one(self, container: ContainerProxy, state: EntityState, entries: list[OutboxEntry]) -> bool:
        """One entity's transactional batch; False on an ETag conflict. Updates ``state.etag``."""
        now = datetime.now(UTC)
        upserts = [("upsert", (outbox_item(e, now=now),)) for e in entries]
        split = max(0, len(upserts) - (BATCH_LIMIT - 1))  # the state takes the batch's last slot
        overflow, in_batch = upserts[:split], upserts[split:]
        if overflow:  # > 99 actions for one entity: the excess goes first (at least once, never lost)
            await self._upsert_all(container, state.entity, overflow)

        async def execute() -> str | None:
            try:
                operations = [*in_batch, state_operation(state)]
                results = await container.execute_item_batch(operations, partition_key=state.entity)
            except CosmosBatchOperationError as exc:
                if exc.status_code in _CONFLICT:
                    return None
                raise
            return str(results[-1]["eTag"])

        etag = await self._run(execute, what=f"saving state of {state.entity!r}")
        if etag is None:
            await self.complete_outbox(entries[:split])  # the excess must not outlive the conflict
            return False
        state.etag = etag
        return True

    async def _save_outbox_only(self, container: ContainerProxy, entity: str, entries: list[OutboxEntry]) -> bool:
        now = datetime.now(UTC)
        await self._upsert_all(container, entity, [("upsert", (outbox_item(e, now=now),)) for e in entries])
        return True

    async def _upsert_all(self, container: ContainerProxy, entity: str, operations: list[tuple[Any, ...]]) -> None:
        for start in range(0, len(operations), BATCH_LIMIT):
            chunk = operations[start : start + BATCH_LIMIT]

            async def write(chunk: list[tuple[Any, ...]] = chunk) -> None:
                await container.execute_item_batch(chunk, partition_key=entity)

            await self._run(write, what=f"writing outbox entries of {entity!r}")

    async def _run(self, request: Callable[[], Awaitable[T]], *, what: str) -> T:
        async with self._limit:
            return await self._calls.run(request, what=what)
