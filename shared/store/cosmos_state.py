"""Entity state in the Cosmos ``state`` container (partition key ``/entity``), its outbox beside it.

Each entity's partition holds one ``state`` item. A save writes the batch's outbox document first
(``cosmos_outbox``: one item per batch, in the ``outbox`` container), then each entity's state
(created, or replaced under its ETag), concurrently; a 412/409 on one of them is a
``ConcurrencyConflict`` for that entity only, and its new outbox entries are taken back out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.cosmos.aio import ContainerProxy
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosResourceNotFoundError

from shared.log_fields import entity_hash
from shared.store.cosmos_calls import CosmosCalls
from shared.store.cosmos_containers import STATE, CosmosContainers
from shared.store.cosmos_outbox import CosmosOutbox
from shared.store.errors import ConcurrencyConflict
from shared.store.models import DeliveryRecord, EntityState, OutboxEntry

STATE_ID = "state"
STATE_TYPE = "state"
_CONFLICT = frozenset({404, 409, 412})  # 404: the state was deleted under us

T = TypeVar("T")


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
    def __init__(
        self, containers: CosmosContainers, calls: CosmosCalls, *, outbox: CosmosOutbox, concurrency: int = 32
    ) -> None:
        self._containers = containers
        self._calls = calls
        self._outbox = outbox
        self._limit = asyncio.Semaphore(concurrency)

    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        container = await self._containers.get(STATE)
        loaded = await asyncio.gather(*(self._load_one(container, e) for e in set(entities)))
        return {state.entity: state for state in loaded if state is not None}

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        added = await self._outbox.write(outbox) if outbox else {}
        if not states:
            return
        container = await self._containers.get(STATE)
        committed = await asyncio.gather(*(self._save_one(container, s) for s in states))
        conflicts = [state.entity for state, ok in zip(states, committed, strict=True) if not ok]
        if conflicts:
            await self._outbox.retract([e for entity in conflicts for e in added.get(entity, [])])
            raise ConcurrencyConflict(conflicts[0])

    async def pending_outbox(
        self, *, limit: int = 100, entities: Iterable[str] | None = None, batch: str | None = None
    ) -> list[OutboxEntry]:
        if entities is not None and not set(entities):
            return []
        if batch is not None:
            return await self._outbox.pending_in(batch, limit=limit, entities=entities)
        return await self._outbox.pending(limit=limit, entities=entities)

    async def mark_sending(self, entries: Iterable[OutboxEntry], *, at: datetime) -> None:
        await self._outbox.mark_sending(entries, at=at)

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        await self._outbox.complete(entries)

    async def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        """Nothing to write: in Azure the delivery audit is the INFO log record each action gets
        (``shared/pipeline/audit.py``), kept by Application Insights, not a Cosmos item (that would
        cost a write per delivered action)."""

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        return await self._outbox.backlog()

    async def delete_state(self, entity: str) -> bool:
        """One point delete in the entity's partition (a 404: there was nothing to delete)."""
        container = await self._containers.get(STATE)

        async def delete() -> bool:
            try:
                await container.delete_item(STATE_ID, partition_key=entity)
            except CosmosResourceNotFoundError:
                return False
            return True

        return await self._run(delete, what=f"deleting the state of entity {entity_hash(entity)[:16]}")

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

    async def _save_one(self, container: ContainerProxy, state: EntityState) -> bool:
        """Create or replace one entity's state under its ETag; False on a conflict. Updates ``state.etag``."""

        async def execute() -> str | None:
            try:
                results = await container.execute_item_batch([state_operation(state)], partition_key=state.entity)
            except CosmosBatchOperationError as exc:
                if exc.status_code in _CONFLICT:
                    return None
                raise
            return str(results[-1]["eTag"])

        etag = await self._run(execute, what=f"saving state of {state.entity!r}")
        if etag is None:
            return False
        state.etag = etag
        return True

    async def _run(self, request: Callable[[], Awaitable[T]], *, what: str) -> T:
        async with self._limit:
            return await self._calls.run(request, what=what)
