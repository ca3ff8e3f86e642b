"""The ports the core depends on. Adapters (sqlite, memory, cosmos) implement them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from shared.store.models import DeadLetter, EntityState, RuleSetSnapshot


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


class StateStore(Protocol):
    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        """The stored state of each entity that has one (missing entities are left out)."""
        ...

    async def save_states(self, states: Sequence[EntityState]) -> None:
        """Write each state, checking its etag; raises ``ConcurrencyConflict`` on a mismatch."""
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
