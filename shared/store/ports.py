"""The ports the core depends on. Adapters (sqlite, memory, cosmos) implement them."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.store.models import DeadLetter, DeliveryRecord, EntityState, OutboxEntry, RuleSetSnapshot, SuppressionList


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

    # The suppression list lives with the rules (one per store, for every rule set): entities whose
    # events the pipeline skips. It holds hashes of entity keys (``shared.log_fields.entity_hash``).

    async def suppression_version(self) -> int:
        """The suppression list's version, cheaply (0 when nothing was ever suppressed)."""
        ...

    async def load_suppression(self) -> SuppressionList:
        """The whole suppression list, oldest entry first, with its version."""
        ...

    async def suppress(self, hashes: Iterable[str]) -> int:
        """Add these entity hashes (those already listed keep their ``added_at``); the list's version
        after the change (unchanged when every hash was listed already)."""
        ...

    async def unsuppress(self, hashes: Iterable[str]) -> int:
        """Remove these entity hashes (unknown ones are ignored); the version after the change."""
        ...


class StateStore(Protocol):
    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        """The stored state of each entity that has one (missing entities are left out)."""
        ...

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        """Write ``outbox`` first (write-ahead), then commit each entity's state.

        Outbox entries are grouped by document (``OutboxEntry.doc``, one per batch) and merged by
        key: a key already in its document (pending, in flight or delivered) is left as it is, so a
        replayed batch never plans an action twice. Each state's ``etag`` must still match the
        stored one (``None``: the entity must not exist yet). An entity may appear in ``outbox``
        without a state (a stateless rule's action). Entities are independent: when one conflicts,
        its new entries are taken back out of the outbox, the others are still committed, and
        ``ConcurrencyConflict`` names the first conflicting entity (in ``states`` order). Every
        committed state gets its new ``etag`` in place; a conflicting one keeps its old one.

        A crash between the outbox and the states leaves entries whose state did not commit; the
        replay of the batch plans the same keys again from the same state, so they merge.
        """
        ...

    async def pending_outbox(
        self, *, limit: int = 100, entities: Iterable[str] | None = None, batch: str | None = None
    ) -> list[OutboxEntry]:
        """Outbox entries not yet completed, oldest first (for the relay and the timer that deliver).

        ``entities`` narrows the result to those entities, ``batch`` to one outbox document.
        """
        ...

    async def mark_sending(self, entries: Iterable[OutboxEntry], *, at: datetime) -> None:
        """Mark these entries in flight (``sending_at``) just before their request goes out: one
        write per outbox document, whatever the number of entries."""
        ...

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        """Settle these entries (delivered or dead-lettered): they are no longer pending, and their
        keys stay in their document (a tombstone, expiring after the store's tombstone TTL) so a
        replay cannot plan them again; unknown entries are ignored."""
        ...

    async def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        """Keep these delivery-audit records (settled actions, shadow rules' would-be actions): one
        write for the lot, called once per settled request or per batch, never per event.

        SQLite and memory keep them (the ``deliveries`` table that ``squall deliveries list`` reads);
        Cosmos DB keeps nothing and makes no request: in Azure the audit is the INFO log record each
        one also gets, queried in Application Insights (docs/observability.md)."""
        ...

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        """How many entries are pending, and when the oldest was planned (the backlog metric)."""
        ...

    async def delete_state(self, entity: str) -> bool:
        """Remove the entity's state document, whatever its etag (a privacy request); True when there
        was one. A writer still holding the old etag gets ``ConcurrencyConflict`` and, re-reading,
        finds no state. Outbox entries are not touched (``pending_outbox`` + ``complete_outbox``)."""
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

    async def delete_entity_letters(self, entity: str) -> int:
        """Remove every parked letter holding this entity's data (a privacy request: ``squall state
        delete``); how many. Which letters those are: ``shared.store.deadletter_entity``. Runs only
        on an operator's request, so it may read every letter (Blob storage: one listing request per
        5,000 letters, and a download for each letter that names no entity)."""
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
