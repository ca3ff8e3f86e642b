"""``EntityAdmin``: show, reset and delete one entity's state (``squall state``, the entity routes).

Pure logic over the store ports: no HTTP, no CLI. A reset goes through the optimistic commit every
state write uses (a concurrent batch is re-applied, never lost); a deletion removes the state
document, settles the entity's undelivered actions without sending them (privacy: what was not
yet sent for a deleted entity must not be sent; the settled entries keep only their keys, so a
replayed batch cannot plan them again) and removes the dead letters holding its data (events and
actions parked with their payloads: ``shared.store.deadletter_entity`` says which).
"""

from __future__ import annotations

from shared.entities.keys import check_entity
from shared.entities.models import DeletionOutcome, EntityStateView, ResetOutcome
from shared.log_fields import entity_hash
from shared.rules import KEPT_ON_RESET, forget_rules, read_inventory, state_meaning
from shared.store.models import EntityState, OutboxEntry
from shared.store.optimistic import commit_entity_updates
from shared.store.ports import DeadLetterStore, RuleStore, StateStore, Store

#: Outbox entries read per request while counting or discarding an entity's pending actions.
OUTBOX_PAGE = 500


class EntityAdmin:
    """One entity at a time, on the store's rules (for the suppression list), states and dead-letter ports."""

    def __init__(self, rules: RuleStore, states: StateStore, deadletters: DeadLetterStore) -> None:
        self._rules = rules
        self._states = states
        self._deadletters = deadletters

    @classmethod
    def of(cls, store: Store) -> EntityAdmin:
        """The admin of one store's ports (``squall state``, the entity routes)."""
        return cls(store.rules, store.states, store.deadletters)

    async def show(self, entity: str) -> EntityStateView:
        """The entity's stored state, readable; ``found`` False when nothing is stored."""
        key = check_entity(entity)
        stored = (await self._states.load_states([key])).get(key)
        digest = entity_hash(key)
        suppressed = digest in (await self._rules.load_suppression()).hashes
        pending = await self._states.pending_outbox(entities=[key], limit=OUTBOX_PAGE)
        state = stored or EntityState(entity=key)
        return EntityStateView(
            entity=key, entity_hash=digest, found=stored is not None, etag=state.etag, due_at=state.due_at,
            suppressed=suppressed, pending_actions=len(pending), inventory=read_inventory(state), data=state.data,
        )  # fmt: skip

    async def reset(self, entity: str, *, rule: str | None = None) -> ResetOutcome:
        """Forget what the state holds for ``rule`` (every rule when ``None``), keeping the watermark
        and the replay guards (``KEPT_ON_RESET``: a replayed old event still cannot fire twice)."""
        key = check_entity(entity)
        outcome: dict[str, list[str]] = {}
        found: list[bool] = []

        def forget(state: EntityState) -> list[OutboxEntry]:
            found[:] = [state.etag is not None]
            outcome[state.entity] = forget_rules(state, None if rule is None else [rule])
            return []

        await commit_entity_updates(self._states, [key], forget, meaning=state_meaning)
        return ResetOutcome(key, found=found[0], rules_reset=tuple(outcome[key]), kept=KEPT_ON_RESET)

    async def delete(self, entity: str) -> DeletionOutcome:
        """Delete the state document, discard the entity's undelivered actions (never sent) and remove
        its dead letters."""
        key = check_entity(entity)
        deleted = await self._states.delete_state(key)
        discarded = await discard_pending_actions(self._states, [key])
        letters = await self._deadletters.delete_entity_letters(key)
        return DeletionOutcome(key, state_deleted=deleted, actions_discarded=discarded, dead_letters_deleted=letters)


async def discard_pending_actions(states: StateStore, entities: list[str]) -> int:
    """Settle every pending outbox entry of these entities without delivering it; how many."""
    discarded = 0
    while entities:
        page = await states.pending_outbox(entities=entities, limit=OUTBOX_PAGE)
        if not page:
            break
        await states.complete_outbox(page)
        discarded += len(page)
        if len(page) < OUTBOX_PAGE:
            break
    return discarded
