"""The ports the core depends on. Adapters (sqlite, memory, cosmos) implement them."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.store.models import DeadLetter, EntityState, OutboxEntry, RuleSetSnapshot


class RuleStore(Protocol):
    async def load_ruleset(self, name: str) -> RuleSetSnapshot:
        """The newest version of a rule set; raises ``RuleSetNotFound``."""
        ...

    async def ruleset_version(self, name: str) -> int:
        """The newest version number, cheaply (0 when the set does not exist)."""
        ...

    async def save_ruleset(self, name: str, rules: Sequence[dict[str, Any]]) -> int:
        """Store a new version (already validated) and return its number."""
        ...

    async def load_ruleset_version(self, name: str, version: int) -> RuleSetSnapshot:
        """One stored version (with ``created_at``); raises ``RuleSetNotFound`` when there is none."""
        ...

    async def ruleset_history(self, name: str, *, limit: int = 20) -> list[RuleSetSnapshot]:
        """The newest ``limit`` versions, newest first, each with its rules and ``created_at``.

        Versions are never changed or removed, so version N always holds what was saved as N.
        """
        ...


class StateStore(Protocol):
    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        """The stored state of each entity that has one (missing entities are left out)."""
        ...

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        """Commit each entity's state together with its outbox entries, atomically per entity.

        Each state's ``etag`` must still match the stored one (``None``: the entity must not exist
        yet). An entity may appear in ``outbox`` without a state (a stateless rule's action).
        Entities are independent: when one conflicts, the others are still committed, and
        ``ConcurrencyConflict`` names the first conflicting entity (in ``states`` order). Every
        committed state gets its new ``etag`` in place; a conflicting one keeps its old one.
        """
        ...

    async def pending_outbox(self, *, limit: int = 100, entities: Iterable[str] | None = None) -> list[OutboxEntry]:
        """Outbox entries not yet completed, oldest first (for the timer that retries delivery).

        ``entities`` narrows the result to those entities (a replayed batch's own entities).
        """
        ...

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        """Forget these entries (delivered or dead-lettered); unknown entries are ignored."""
        ...

    async def due_entities(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Entities whose ``due_at`` is at or before ``now`` (aware), earliest first, at most ``limit``.

        The timer loads these, fires their due deadlines (``CompiledRuleSet.fire_due``) and saves
        them with the new ``due_at``; an entity without a deadline (``due_at`` None) never appears.
        """
        ...


class DedupeStore(Protocol):
    async def seen(self, keys: Iterable[str]) -> set[str]:
        """Which of these keys were remembered (and have not expired)."""
        ...

    async def remember(self, keys: Iterable[str], *, ttl_s: int) -> None:
        """Remember these keys for ``ttl_s`` seconds."""
        ...


class DeadLetterSink(Protocol):
    async def write(self, letters: Sequence[DeadLetter]) -> None:
        """Park these items durably, with their reasons."""
        ...


class DeadLetterStore(DeadLetterSink, Protocol):
    async def list(self, *, limit: int = 100) -> builtins.list[DeadLetter]:
        """The oldest parked items, for inspection and replay."""
        ...


class Store(Protocol):
    """One adapter's ports together (``MemoryStore``, ``SqliteStore``, ``CosmosStore``)."""

    @property
    def rules(self) -> RuleStore: ...

    @property
    def states(self) -> StateStore: ...

    @property
    def dedupe(self) -> DedupeStore: ...

    @property
    def deadletters(self) -> DeadLetterStore: ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
