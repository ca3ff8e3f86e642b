"""Rule sets and the suppression list in the Cosmos ``rules`` container (partition key ``/ruleset``).

One partition per rule set: a small ``head`` item holds the newest version number (the cheap
version check every instance polls: one point read), and each version is an immutable item
``v<N>`` with the rule definitions. A new version is written in one transactional batch (create
``v<N+1>``, move ``head`` under its ETag), so two writers never claim the same number.

The suppression list has a partition of its own, ``_suppression`` (no rule set name starts with
``_``), laid out the same way: a ``head`` with the list's version, and one small item per entity
hash (its ``id``), created or deleted in a transactional batch that moves ``head``. The version
check is one point read; the list is read (one single-partition query) only when it moved. One item
per hash keeps every item small however long the list grows.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosResourceNotFoundError

from shared.store.cosmos_calls import CosmosCalls
from shared.store.cosmos_containers import RULES, CosmosContainers
from shared.store.errors import RuleSetNotFound, StoreUnavailable
from shared.store.models import RuleSetSnapshot, SuppressedEntity, SuppressionList

HEAD_ID = "head"
SUPPRESSION_PARTITION = "_suppression"
SUPPRESSED_TYPE = "suppressed"
_SAVE_ATTEMPTS = 5
_SUPPRESSION_ATTEMPTS = 12  # admins may race; each conflict means another writer's change went in
_CONFLICT = frozenset({404, 409, 412})  # 404: an entry deleted under a concurrent removal
_BATCH_LIMIT = 100  # operations in one transactional batch (the service's limit)
# Names the partition key in the text too: scoped to one partition with or without the request's key.
_SUPPRESSED_QUERY = "SELECT c.id, c.added_at FROM c WHERE c.ruleset = @partition AND c.type = @type"

Operation = tuple[Any, ...]


def version_id(version: int) -> str:
    return f"v{version}"


class CosmosRuleStore:
    def __init__(self, containers: CosmosContainers, calls: CosmosCalls) -> None:
        self._containers = containers
        self._calls = calls

    async def ruleset_version(self, name: str) -> int:
        head = await self._read(name, HEAD_ID)
        return int(head["version"]) if head else 0

    async def load_ruleset(self, name: str) -> RuleSetSnapshot:
        head = await self._read(name, HEAD_ID)
        stored = await self._read(name, version_id(int(head["version"]))) if head else None
        if stored is None:
            raise RuleSetNotFound(f"no rule set named {name!r} in the Cosmos DB rules container")
        return _snapshot(name, stored)

    async def load_ruleset_version(self, name: str, version: int) -> RuleSetSnapshot:
        stored = await self._read(name, version_id(version)) if version >= 1 else None
        if stored is None:
            raise RuleSetNotFound(f"rule set {name!r} has no version {version} in the Cosmos DB rules container")
        return _snapshot(name, stored)

    async def ruleset_history(self, name: str, *, limit: int = 20) -> list[RuleSetSnapshot]:
        """Point reads from the newest version down (1 RU each; versions are never deleted)."""
        newest = await self.ruleset_version(name)
        history = []
        for version in range(newest, max(newest - limit, 0), -1):
            stored = await self._read(name, version_id(version))
            if stored is not None:
                history.append(_snapshot(name, stored))
        return history

    async def save_ruleset(self, name: str, rules: Sequence[dict[str, Any]]) -> int:
        for _ in range(_SAVE_ATTEMPTS):
            head = await self._read(name, HEAD_ID)
            version = (int(head["version"]) if head else 0) + 1
            if await self._commit(name, version, list(rules), head_etag=head["_etag"] if head else None):
                return version
        raise StoreUnavailable(f"rule set {name!r} kept changing while saving; try again")

    async def suppression_version(self) -> int:
        head = await self._read(SUPPRESSION_PARTITION, HEAD_ID)
        return int(head["version"]) if head else 0

    async def load_suppression(self) -> SuppressionList:
        version = await self.suppression_version()  # first: entries added after it trigger a re-read
        container = await self._containers.get(RULES)
        params: list[dict[str, Any]] = [
            {"name": "@partition", "value": SUPPRESSION_PARTITION},
            {"name": "@type", "value": SUPPRESSED_TYPE},
        ]

        async def query() -> list[SuppressedEntity]:
            items = container.query_items(_SUPPRESSED_QUERY, parameters=params, partition_key=SUPPRESSION_PARTITION)
            return [SuppressedEntity(item["id"], _time(item.get("added_at"))) async for item in items]

        entries = await self._calls.run(query, what="reading the suppression list")
        ordered = sorted(entries, key=lambda e: (e.added_at or datetime.min.replace(tzinfo=UTC), e.hash))
        return SuppressionList(version, tuple(ordered))

    async def suppress(self, hashes: Iterable[str]) -> int:
        wanted = list(dict.fromkeys(hashes))

        def create(digest: str, now: str) -> Operation:
            item = {"id": digest, "ruleset": SUPPRESSION_PARTITION, "type": SUPPRESSED_TYPE, "added_at": now}
            return ("create", (item,))

        return await self._change_suppression(wanted, keep=lambda listed: not listed, operation=create)

    async def unsuppress(self, hashes: Iterable[str]) -> int:
        wanted = list(dict.fromkeys(hashes))
        return await self._change_suppression(
            wanted, keep=lambda listed: listed, operation=lambda digest, _: ("delete", (digest,))
        )

    async def _change_suppression(
        self, wanted: list[str], *, keep: Callable[[bool], bool], operation: Callable[[str, str], Operation]
    ) -> int:
        """Apply ``operation`` to the wanted hashes ``keep`` selects (by whether each is listed now),
        in transactional batches that each move ``head``; again on a race with another writer."""
        conflicts = 0
        while True:
            head = await self._read(SUPPRESSION_PARTITION, HEAD_ID)
            version = int(head["version"]) if head else 0
            listed = await asyncio.gather(*(self._read(SUPPRESSION_PARTITION, digest) for digest in wanted))
            todo = [digest for digest, item in zip(wanted, listed, strict=True) if keep(item is not None)]
            if not todo:
                return version
            now = datetime.now(UTC).isoformat()
            chunk = todo[: _BATCH_LIMIT - 1]
            moved = _move_head(SUPPRESSION_PARTITION, version + 1, now, head_etag=head["_etag"] if head else None)
            what = f"changing the suppression list (version {version + 1})"
            if await self._execute(SUPPRESSION_PARTITION, [*(operation(d, now) for d in chunk), moved], what=what):
                if len(chunk) == len(todo):
                    return version + 1
                wanted = [digest for digest in wanted if digest not in set(chunk)]
                continue
            conflicts += 1
            if conflicts >= _SUPPRESSION_ATTEMPTS:
                raise StoreUnavailable("the suppression list kept changing while it was being written; try again")
            await asyncio.sleep(random.uniform(0, 0.01 * conflicts))  # racing writers fall out of step

    async def _execute(self, partition: str, operations: list[Operation], *, what: str) -> bool:
        """Run one transactional batch in ``partition``; False when another writer won (409/412/404)."""
        container = await self._containers.get(RULES)

        async def execute() -> bool:
            try:
                await container.execute_item_batch(operations, partition_key=partition)
            except CosmosBatchOperationError as exc:
                if exc.status_code in _CONFLICT:
                    return False
                raise
            return True

        return await self._calls.run(execute, what=what)

    async def _commit(self, name: str, version: int, rules: list[dict[str, Any]], *, head_etag: str | None) -> bool:
        """Write version ``version`` and point ``head`` at it; False when another writer won."""
        now = datetime.now(UTC).isoformat()
        item = {
            "id": version_id(version),
            "ruleset": name,
            "version": version,
            "rules": rules,
            "created_at": now,
        }
        move_head = _move_head(name, version, now, head_etag=head_etag)
        return await self._execute(
            name, [("create", (item,)), move_head], what=f"saving rule set {name!r} version {version}"
        )

    async def _read(self, name: str, item_id: str) -> dict[str, Any] | None:
        container = await self._containers.get(RULES)

        async def read() -> dict[str, Any] | None:
            try:
                return await container.read_item(item_id, partition_key=name)
            except CosmosResourceNotFoundError:
                return None

        return await self._calls.run(read, what=f"reading rule set {name!r} item {item_id!r}")


def _move_head(partition: str, version: int, now: str, *, head_etag: str | None) -> Operation:
    """The batch operation that points ``head`` at ``version``: under its ETag, or created."""
    head = {"id": HEAD_ID, "ruleset": partition, "version": version, "updated_at": now}
    return ("replace", (HEAD_ID, head), {"if_match_etag": head_etag}) if head_etag else ("create", (head,))


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _snapshot(name: str, stored: dict[str, Any]) -> RuleSetSnapshot:
    created = stored.get("created_at")
    return RuleSetSnapshot(
        name=name,
        version=int(stored["version"]),
        rules=list(stored["rules"]),
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
    )
