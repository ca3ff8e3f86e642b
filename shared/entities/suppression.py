"""``SuppressionAdmin``: the suppression list — entities Squall must not act on (opt-outs, privacy
requests). Added, removed and listed by ``squall suppress`` and the suppression routes.

The list holds SHA-256 hashes of entity keys (``shared.log_fields.entity_hash``), never the keys,
so the list itself is not a list of addresses. It is stored with the rules and cached with the rule
set (``RuleSetCache``): a change is in force at each instance's next version check
(``SQUALL_RULES_CHECK_INTERVAL``-free: every 10 s), and costs no store request per event. Adding an
entity by its key also discards its undelivered actions (an opt-out covers what was planned before
it); an entity added by hash alone cannot be matched to outbox entries, which carry keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.entities.keys import check_entity, hashes_of
from shared.entities.models import SuppressionChange
from shared.entities.state_admin import discard_pending_actions
from shared.log_fields import entity_hash
from shared.store.models import SuppressionList
from shared.store.ports import RuleStore, StateStore


class SuppressionAdmin:
    def __init__(self, rules: RuleStore, states: StateStore) -> None:
        self._rules = rules
        self._states = states

    async def add(self, entities: Iterable[str] = (), *, hashes: Iterable[str] = ()) -> SuppressionChange:
        """Suppress entities (by key) and hashes; the hashes newly listed, and the actions discarded."""
        keys = [check_entity(entity) for entity in entities]
        wanted = hashes_of(keys, hashes)
        before = (await self._rules.load_suppression()).hashes
        version = await self._rules.suppress(wanted)
        discarded = await discard_pending_actions(self._states, keys)
        return SuppressionChange(version, tuple(h for h in wanted if h not in before), discarded)

    async def remove(self, entities: Iterable[str] = (), *, hashes: Iterable[str] = ()) -> SuppressionChange:
        """Lift the suppression of entities (by key) and hashes; the hashes that were listed."""
        wanted = hashes_of(entities, hashes)
        before = (await self._rules.load_suppression()).hashes
        version = await self._rules.unsuppress(wanted)
        return SuppressionChange(version, tuple(h for h in wanted if h in before))

    async def listed(self) -> SuppressionList:
        return await self._rules.load_suppression()

    async def contains(self, entity: str) -> bool:
        return entity_hash(check_entity(entity)) in (await self._rules.load_suppression()).hashes
