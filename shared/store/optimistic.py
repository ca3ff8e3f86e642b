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

Meaning = Callable[[EntityState], object]
"""What of a state matters (``shared.rules.state_meaning``): a state whose meaning ``apply`` left as
it was is not written."""


async def commit_entity_updates(
    states: StateStore,
    entities: Iterable[str],
    apply: ApplyUpdate,
    *,
    outbox: Sequence[OutboxEntry] = (),
    meaning: Meaning | None = None,
    attempts: int = 5,
) -> dict[str, EntityState]:
    """Apply ``apply`` to each entity's state and commit it with its outbox entries (and ``outbox``,
    entries of no entity's state, written with the first attempt).

    Returns the committed states (with their new etags); a state whose ``meaning`` ``apply`` left
    unchanged is not written, nor returned. Raises ``ConcurrencyConflict`` when an entity still conflicts after
    ``attempts`` tries. Retries wait a random, growing pause so two writers that keep colliding
    fall out of step.
    """
    pending = list(dict.fromkeys(entities))
    committed: dict[str, EntityState] = {}
    extra = list(outbox)
    for attempt in range(1, attempts + 1):
        loaded = await states.load_states(pending) if pending else {}
        working = [loaded.get(entity) or EntityState(entity=entity) for entity in pending]
        read_etags = {state.entity: state.etag for state in working}
        before = {state.entity: meaning(state) for state in working} if meaning else {}
        entries = [entry for state in working for entry in apply(state)]
        planned = {entry.entity for entry in entries}
        changed = [
            s for s in working if meaning is None or s.entity in planned or meaning(s) != before[s.entity]
        ]
        try:
            if changed or entries or extra:
                await states.save_states(changed, outbox=extra + entries)
        except ConcurrencyConflict as conflict:
            log.info("state of %r changed concurrently (attempt %d); re-applying", conflict.entity, attempt)
        extra = []
        # save_states gives every committed state a new etag; a conflicting one keeps the one read.
        committed.update((s.entity, s) for s in changed if s.etag != read_etags[s.entity])
        pending = [s.entity for s in changed if s.etag == read_etags[s.entity]]
        if not pending:
            return committed
        await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2 ** (attempt - 1)))
    raise ConcurrencyConflict(pending[0])
