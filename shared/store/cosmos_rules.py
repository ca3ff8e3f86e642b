"""Rule sets in the Cosmos ``rules`` container (partition key ``/ruleset``).

One partition per rule set: a small ``head`` item holds the newest version number (the cheap
version check every instance polls: one point read), and each version is an immutable item
``v<N>`` with the rule definitions. A new version is written in one transactional batch (create
``v<N+1>``, move ``head`` under its ETag), so two writers never claim the same number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosResourceNotFoundError

from shared.store.cosmos_calls import CosmosCalls
from shared.store.cosmos_containers import RULES, CosmosContainers
from shared.store.errors import RuleSetNotFound, StoreUnavailable
from shared.store.models import RuleSetSnapshot

HEAD_ID = "head"
_SAVE_ATTEMPTS = 5
_CONFLICT = frozenset({409, 412})


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
        head = {"id": HEAD_ID, "ruleset": name, "version": version, "updated_at": now}
        move_head: tuple[Any, ...] = (
            ("replace", (HEAD_ID, head), {"if_match_etag": head_etag}) if head_etag else ("create", (head,))
        )
        container = await self._containers.get(RULES)

        async def execute() -> bool:
            try:
                await container.execute_item_batch([("create", (item,)), move_head], partition_key=name)
            except CosmosBatchOperationError as exc:
                if exc.status_code in _CONFLICT:
                    return False
                raise
            return True

        return await self._calls.run(execute, what=f"saving rule set {name!r} version {version}")

    async def _read(self, name: str, item_id: str) -> dict[str, Any] | None:
        container = await self._containers.get(RULES)

        async def read() -> dict[str, Any] | None:
            try:
                return await container.read_item(item_id, partition_key=name)
            except CosmosResourceNotFoundError:
                return None

        return await self._calls.run(read, what=f"reading rule set {name!r} item {item_id!r}")


def _snapshot(name: str, stored: dict[str, Any]) -> RuleSetSnapshot:
    created = stored.get("created_at")
    return RuleSetSnapshot(
        name=name,
        version=int(stored["version"]),
        rules=list(stored["rules"]),
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
    )
