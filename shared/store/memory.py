"""In-memory adapter: every store port in plain dicts, for tests and one-shot runs.

Same semantics as the Cosmos and SQLite adapters (the contract suite runs against all three):
etags checked per entity, the outbox committed with its entity's state, keys that expire.
``clock`` lets tests move time without sleeping.
"""

from __future__ import annotations

import builtins
import copy
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.store import outbox_docs
from shared.store.deadletter_entity import letter_holds_entity
from shared.store.errors import ConcurrencyConflict, RuleSetNotFound
from shared.store.models import (
    DeadLetter,
    DeliveryRecord,
    EntityState,
    OutboxEntry,
    RuleSetSnapshot,
    SuppressedEntity,
    SuppressionList,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class MemoryRuleStore:
    def __init__(self) -> None:
        self._versions: dict[str, list[RuleSetSnapshot]] = {}
        self._suppressed: dict[str, datetime] = {}  # entity hash -> added at (insertion order: oldest first)
        self._suppression_version = 0

    async def load_ruleset(self, name: str) -> RuleSetSnapshot:
        versions = self._versions.get(name)
        if not versions:
            raise RuleSetNotFound(f"no rule set named {name!r} in the memory store")
        return copy.deepcopy(versions[-1])

    async def ruleset_version(self, name: str) -> int:
        versions = self._versions.get(name)
        return versions[-1].version if versions else 0

    async def save_ruleset(self, name: str, rules: Sequence[dict[str, Any]]) -> int:
        version = await self.ruleset_version(name) + 1
        snapshot = RuleSetSnapshot(
            name=name, version=version, rules=copy.deepcopy(list(rules)), created_at=utc_now()
        )
        self._versions.setdefault(name, []).append(snapshot)
        return version

    async def load_ruleset_version(self, name: str, version: int) -> RuleSetSnapshot:
        versions = self._versions.get(name, [])
        if not 1 <= version <= len(versions):
            raise RuleSetNotFound(f"rule set {name!r} has no version {version} in the memory store")
        return copy.deepcopy(versions[version - 1])

    async def ruleset_history(self, name: str, *, limit: int = 20) -> list[RuleSetSnapshot]:
        versions = self._versions.get(name, [])
        return [copy.deepcopy(snapshot) for snapshot in reversed(versions[-limit:])] if limit > 0 else []

    async def suppression_version(self) -> int:
        return self._suppression_version

    async def load_suppression(self) -> SuppressionList:
        entries = tuple(SuppressedEntity(digest, added) for digest, added in self._suppressed.items())
        return SuppressionList(self._suppression_version, entries)

    async def suppress(self, hashes: Iterable[str]) -> int:
        new = [digest for digest in dict.fromkeys(hashes) if digest not in self._suppressed]
        now = utc_now()
        self._suppressed.update((digest, now) for digest in new)
        self._suppression_version += bool(new)
        return self._suppression_version

    async def unsuppress(self, hashes: Iterable[str]) -> int:
        gone = [digest for digest in set(hashes) if self._suppressed.pop(digest, None) is not None]
        self._suppression_version += bool(gone)
        return self._suppression_version


class MemoryStateStore:
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._states: dict[str, tuple[str, dict[str, Any], datetime | None]] = {}  # entity -> (etag, data, due_at)
        self._outbox: dict[str, outbox_docs.Doc] = {}  # outbox document -> its entries (outbox_docs)
        self._etags = itertools.count(1)
        self.deliveries: list[DeliveryRecord] = []  # the delivery audit, in the order recorded

    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        found: dict[str, EntityState] = {}
        for entity in set(entities):
            if entity in self._states:
                etag, data, due_at = self._states[entity]
                found[entity] = EntityState(entity=entity, data=copy.deepcopy(data), etag=etag, due_at=due_at)
        return found

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        added = self._write_outbox(outbox)  # write-ahead: the outbox first, then the states
        first_conflict: str | None = None
        for state in states:
            if self._etag_matches(state):
                self._commit(state)
                continue
            first_conflict = first_conflict or state.entity
            self._retract(added, state.entity)  # a conflicting entity's new entries are taken back
        if first_conflict is not None:
            raise ConcurrencyConflict(first_conflict)

    async def pending_outbox(
        self, *, limit: int = 100, entities: Iterable[str] | None = None, batch: str | None = None
    ) -> list[OutboxEntry]:
        wanted = None if entities is None else set(entities)
        docs = self._outbox.values() if batch is None else [self._outbox[batch]] if batch in self._outbox else []
        every = (e for doc in docs for e in outbox_docs.pending(doc))
        entries = sorted(
            (e for e in every if wanted is None or e.entity in wanted),
            key=lambda e: (e.created_at or self._clock(), e.key),
        )
        return copy.deepcopy(entries[:limit])

    async def mark_sending(self, entries: Iterable[OutboxEntry], *, at: datetime) -> None:
        for doc_id, group in outbox_docs.by_doc(entries).items():
            if doc_id in self._outbox:
                outbox_docs.mark_sending(self._outbox[doc_id], (e.key for e in group), at=at)

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        for doc_id, group in outbox_docs.by_doc(entries).items():
            if doc_id in self._outbox:
                outbox_docs.complete(self._outbox[doc_id], (e.key for e in group))

    async def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        known = {(r.key, r.outcome) for r in self.deliveries}
        self.deliveries.extend(r for r in records if (r.key, r.outcome) not in known)  # first row per key wins

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        pending = [e for doc in self._outbox.values() for e in outbox_docs.pending(doc)]
        return len(pending), min((e.created_at for e in pending if e.created_at), default=None)

    async def delete_state(self, entity: str) -> bool:
        return self._states.pop(entity, None) is not None

    async def due_entities(self, now: datetime, *, limit: int = 500) -> list[str]:
        due = sorted((due_at, entity) for entity, (_, _, due_at) in self._states.items() if due_at and due_at <= now)
        return [entity for _, entity in due[:limit]]

    def _etag_matches(self, state: EntityState) -> bool:
        stored = self._states.get(state.entity)
        return (stored[0] if stored else None) == state.etag

    def _commit(self, state: EntityState) -> None:
        etag = str(next(self._etags))
        self._states[state.entity] = (etag, copy.deepcopy(state.data), state.due_at)
        state.etag = etag

    def _write_outbox(self, entries: Sequence[OutboxEntry]) -> dict[str, list[OutboxEntry]]:
        """Merge the entries into their documents; the ones added, by entity."""
        added: dict[str, list[OutboxEntry]] = {}
        now = self._clock()
        for doc_id, group in outbox_docs.by_doc(copy.deepcopy(list(entries))).items():
            doc = self._outbox.setdefault(doc_id, outbox_docs.new_doc(doc_id, now=now))
            keys = set(outbox_docs.merge(doc, group, now=now))
            for entry in group:
                if entry.key in keys:
                    added.setdefault(entry.entity, []).append(entry)
        return added

    def _retract(self, added: dict[str, list[OutboxEntry]], entity: str) -> None:
        for doc_id, group in outbox_docs.by_doc(added.pop(entity, [])).items():
            outbox_docs.retract(self._outbox[doc_id], (e.key for e in group))


class MemoryDedupeStore:
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._expiry: dict[str, datetime] = {}

    async def seen(self, keys: Iterable[str]) -> set[str]:
        now = self._clock()
        return {key for key in set(keys) if key in self._expiry and self._expiry[key] > now}

    async def remember(self, keys: Iterable[str], *, ttl_s: int) -> None:
        expires = self._clock() + timedelta(seconds=ttl_s)
        for key in keys:
            self._expiry[key] = expires


class MemoryDeadLetterStore:
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._letters: list[DeadLetter] = []

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        now = self._clock()
        self._letters.extend(letter if letter.created_at else replace(letter, created_at=now) for letter in letters)

    async def list(self, *, limit: int = 100) -> builtins.list[DeadLetter]:
        return self._letters[:limit]

    async def delete_entity_letters(self, entity: str) -> int:
        kept = [d for d in self._letters if not letter_holds_entity(d.entity, d.payload, entity)]
        removed = len(self._letters) - len(kept)
        self._letters = kept
        return removed


class MemoryStore:
    """All store ports in memory; nothing survives ``close()`` or the process."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self.rules = MemoryRuleStore()
        self.states = MemoryStateStore(clock=clock)
        self.dedupe = MemoryDedupeStore(clock=clock)
        self.deadletters = MemoryDeadLetterStore(clock=clock)

    async def close(self) -> None:
        """Nothing to release; present so every adapter closes the same way."""
