"""The outbox in its own Cosmos DB container (partition key ``/id``): one document per batch.

A batch's planned actions are one item (``outbox_docs``): created once (or, when a replay of the
batch finds it, read and merged under its ETag), marked in flight once per request, and turned
into a tombstone (keys only, ``ttl`` set) once every entry is settled. The container's own change
feed is what the delivery function (``functions/outbox_relay.py``) reads, so state writes never
reach it. Only ``/status/?`` and ``/created_at/?`` are indexed (Bicep): everything else in an item
is data the relay reads whole, and unindexed paths make every write cheaper.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.cosmos.aio import ContainerProxy
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from shared.store import outbox_docs
from shared.store.cosmos_calls import CosmosCalls
from shared.store.cosmos_containers import OUTBOX, CosmosContainers
from shared.store.errors import StoreUnavailable
from shared.store.models import OutboxEntry

OUTBOX_TYPE = "outbox"
_PENDING_QUERY = "SELECT * FROM c WHERE c.status = @status ORDER BY c.created_at"
_BACKLOG_QUERY = "SELECT VALUE SUM(ARRAY_LENGTH(c.entries)) FROM c WHERE c.status = @status"
_OLDEST_QUERY = "SELECT TOP 1 VALUE c.created_at FROM c WHERE c.status = @status ORDER BY c.created_at"
_MAX_MERGE_ATTEMPTS = 8

Change = Callable[[outbox_docs.Doc], bool]


def outbox_doc_id(doc: str) -> str:
    """Item ids may not contain / \\ ? #; batch names are not ours to restrict."""
    return "outbox-" + hashlib.sha256(doc.encode()).hexdigest()[:40]


class CosmosOutbox:
    def __init__(
        self, containers: CosmosContainers, calls: CosmosCalls, *, tombstone_ttl_s: int, concurrency: int = 32
    ) -> None:
        self._containers = containers
        self._calls = calls
        self._ttl = max(1, int(tombstone_ttl_s))
        self._limit = asyncio.Semaphore(concurrency)
        self._queued: dict[str, list[tuple[Change, asyncio.Future[None]]]] = {}
        self._writing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def write(self, entries: Sequence[OutboxEntry]) -> dict[str, list[OutboxEntry]]:
        """Merge entries into their documents (one create per new document); the added, by entity."""
        groups = outbox_docs.by_doc(entries)
        added_keys = await asyncio.gather(*(self._write_doc(doc, group) for doc, group in groups.items()))
        added: dict[str, list[OutboxEntry]] = {}
        for group, keys in zip(groups.values(), added_keys, strict=True):
            for entry in group:
                if entry.key in keys:
                    added.setdefault(entry.entity, []).append(entry)
        return added

    async def retract(self, entries: Iterable[OutboxEntry]) -> None:
        await self._change_each(entries, lambda doc, keys: outbox_docs.retract(doc, keys))

    async def mark_sending(self, entries: Iterable[OutboxEntry], *, at: datetime) -> None:
        await self._change_each(entries, lambda doc, keys: outbox_docs.mark_sending(doc, keys, at=at))

    async def complete(self, entries: Iterable[OutboxEntry]) -> None:
        await self._change_each(entries, outbox_docs.complete)

    async def pending(self, *, limit: int, entities: Iterable[str] | None = None) -> list[OutboxEntry]:
        """Entries of pending documents, oldest document first, until ``limit`` entries."""
        wanted = None if entities is None else set(entities)
        container = await self._containers.get(OUTBOX)
        params: list[dict[str, Any]] = [{"name": "@status", "value": outbox_docs.PENDING}]

        async def run_query() -> list[OutboxEntry]:
            found: list[OutboxEntry] = []
            async for item in container.query_items(_PENDING_QUERY, parameters=params):
                found += [e for e in outbox_docs.pending(item) if wanted is None or e.entity in wanted]
                if len(found) >= limit:
                    break
            return found

        entries = await self._calls.run(run_query, what="listing pending outbox documents")
        return sorted(entries, key=lambda e: (e.created_at or datetime.min.replace(tzinfo=UTC), e.key))[:limit]

    async def pending_in(
        self, batch: str, *, limit: int, entities: Iterable[str] | None = None
    ) -> list[OutboxEntry]:
        """The pending entries of one document (a point read)."""
        container = await self._containers.get(OUTBOX)
        item_id = outbox_doc_id(batch)

        async def read() -> list[OutboxEntry]:
            try:
                item = await container.read_item(item_id, partition_key=item_id)
            except CosmosResourceNotFoundError:
                return []
            return outbox_docs.pending(item)

        entries = await self._run(read, what=f"reading outbox document {batch!r}")
        wanted = None if entities is None else set(entities)
        return [e for e in entries if wanted is None or e.entity in wanted][:limit]

    async def backlog(self) -> tuple[int, datetime | None]:
        """Entries waiting and the oldest's time: two index-served queries, whatever the backlog."""
        container = await self._containers.get(OUTBOX)
        params: list[dict[str, Any]] = [{"name": "@status", "value": outbox_docs.PENDING}]

        async def run_queries() -> tuple[int, datetime | None]:
            counted: list[Any] = [n async for n in container.query_items(_BACKLOG_QUERY, parameters=params)]
            oldest: list[Any] = [t async for t in container.query_items(_OLDEST_QUERY, parameters=params)]
            when = datetime.fromisoformat(oldest[0]) if oldest and isinstance(oldest[0], str) else None
            return int(sum(n for n in counted if isinstance(n, int | float))), when

        return await self._calls.run(run_queries, what="measuring the outbox backlog")

    async def _write_doc(self, doc_name: str, entries: list[OutboxEntry]) -> set[str]:
        container = await self._containers.get(OUTBOX)
        doc = {"id": outbox_doc_id(doc_name), "type": OUTBOX_TYPE, **outbox_docs.new_doc(doc_name, now=_now())}
        added = set(outbox_docs.merge(doc, entries, now=_now()))

        async def create() -> bool:
            try:
                await container.create_item(doc)
            except CosmosResourceExistsError:
                return False
            return True

        if await self._run(create, what=f"writing outbox document {doc_name!r}"):
            return added
        merged: set[str] = set()

        def merge(existing: outbox_docs.Doc) -> bool:
            merged.clear()
            merged.update(outbox_docs.merge(existing, entries, now=_now()))
            return bool(merged)

        await self._change(container, doc_name, merge)  # a replay: merge into what is there
        return merged

    async def _change_each(
        self, entries: Iterable[OutboxEntry], change: Callable[[outbox_docs.Doc, list[str]], bool]
    ) -> None:
        container = await self._containers.get(OUTBOX)
        groups = outbox_docs.by_doc(entries)

        def of(group: list[OutboxEntry]) -> Change:
            keys = [e.key for e in group]
            return lambda doc: change(doc, keys)

        await asyncio.gather(*(self._change(container, doc, of(group)) for doc, group in groups.items()))

    async def _change(self, container: ContainerProxy, doc_name: str, change: Change) -> None:
        """Apply ``change`` to the document and return once it is stored. Changes to one document are
        coalesced: while one write is under way the next ones queue, and go out together in the
        next write (a chunk's concurrent requests mark and settle one document in a few writes, not
        one each, and never race each other for its ETag)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.setdefault(doc_name, []).append((change, done))
        if doc_name not in self._writing:
            self._writing.add(doc_name)
            task = asyncio.create_task(self._write_queued(container, doc_name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await done

    async def _write_queued(self, container: ContainerProxy, doc_name: str) -> None:
        try:
            while queued := self._queued.pop(doc_name, None):
                try:
                    await self._replace(container, doc_name, [change for change, _ in queued])
                except BaseException as exc:
                    for _, done in queued:
                        done.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    for _, done in queued:
                        done.set_result(None)
        finally:
            self._writing.discard(doc_name)

    async def _replace(self, container: ContainerProxy, doc_name: str, changes: list[Change]) -> None:
        """Read the document, apply ``changes``, replace it under its ETag (again on a race with
        another process: a replay merging, another deliverer)."""
        item_id = outbox_doc_id(doc_name)
        for _ in range(_MAX_MERGE_ATTEMPTS):

            async def attempt() -> bool:
                try:
                    item = await container.read_item(item_id, partition_key=item_id)
                except CosmosResourceNotFoundError:
                    return True  # expired or never written: nothing to change
                if not any([change(item) for change in changes]):  # every change applies (no short cut)
                    return True
                if outbox_docs.is_tombstone(item):
                    item["ttl"] = self._ttl
                else:
                    item.pop("ttl", None)
                try:
                    await container.replace_item(
                        item_id, item, etag=item["_etag"], match_condition=MatchConditions.IfNotModified
                    )
                except CosmosAccessConditionFailedError:
                    return False
                return True

            if await self._run(attempt, what=f"updating outbox document {doc_name!r}"):
                return
            await asyncio.sleep(random.uniform(0, 0.05))
        raise StoreUnavailable(
            f"outbox document {doc_name!r} kept changing under {_MAX_MERGE_ATTEMPTS} updates: "
            "another process writes it in a loop"
        )

    async def _run(self, request: Callable[[], Awaitable[Any]], *, what: str) -> Any:
        async with self._limit:
            return await self._calls.run(request, what=what)


def _now() -> datetime:
    return datetime.now(UTC)
