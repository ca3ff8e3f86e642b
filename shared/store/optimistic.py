"""Optimistic concurrency for entity state: load, apply, commit; on a conflict reload and re-apply.

Events for one entity normally reach one instance, so conflicts are rare (a partition moving to
another instance mid-batch). When one happens, only the entities that did not commit are read
again and their updates re-applied on the fresh state, so no writer's update is lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Sequence

from shared.store.errors import ConcurrencyConflict
from shared.store.models import EntityState, OutboxEntry
from shared.store.ports import StateStore

log = logging.getLogger(__name__)

CONFLICT_BACKOFF_S = 0.01  # first retry waits up to this long (full jitter), doubling per attempt

ApplyUpdate = Callable[[EntityState], Sequence[OutboxEntry]]
"""Mutates ``state.data`` in place and returns the outbox entries to commit with it. It may run
more than once for an entity (once per attempt), always on freshly loaded state."""


async def commit_entity_updates(
    states: StateStore, entities: Iterable[str], apply: ApplyUpdate, *, attempts: int = 5
) -> dict[str, EntityState]:
    """Apply ``apply`` to each entity's state and commit it with its outbox entries.

    Returns the committed states (with their new etags). Raises ``ConcurrencyConflict`` when an
    entity still conflicts after ``attempts`` tries. Retries wait a random, growing pause so two
    writers that keep colliding fall out of step.
    """
    pending = list(dict.fromkeys(entities))
    committed: dict[str, EntityState] = {}
    for attempt in range(1, attempts + 1):
        loaded = await states.load_states(pending)
        working = [loaded.get(entity) or EntityState(entity=entity) for entity in pending]
        read_etags = {state.entity: state.etag for state in working}
        outbox = [entry for state in working for entry in apply(state)]
        try:
            await states.save_states(working, outbox=outbox)
        except ConcurrencyConflict as conflict:
            log.info("state of %r changed concurrently (attempt %d); re-applying", conflict.entity, attempt)
        # save_states gives every committed state a new etag; a conflicting one keeps the one read.
        committed.update((s.entity, s) for s in working if s.etag != read_etags[s.entity])
        pending = [s.entity for s in working if s.etag == read_etags[s.entity]]
        if not pending:
            return committed
        await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2 ** (attempt - 1)))
    raise ConcurrencyConflict(pending[0])
