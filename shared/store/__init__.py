"""Storage: the ports the core depends on, their records and errors, and ``open_store``.

Adapters: ``memory`` (tests), ``sqlite:PATH`` (the embedded default) and ``cosmos`` (Azure).
The same contract suite (tests/contract) runs against each.
"""

from __future__ import annotations

import logging
from pathlib import Path

from shared.settings import Settings
from shared.store.errors import ConcurrencyConflict, RuleSetNotFound, StoreError, StoreUnavailable
from shared.store.memory import MemoryStore
from shared.store.models import DeadLetter, EntityState, OutboxEntry, RuleSetSnapshot
from shared.store.optimistic import commit_entity_updates
from shared.store.ports import (
    DeadLetterSink,
    DeadLetterStore,
    DedupeStore,
    RuleStore,
    StateStore,
    Store,
)

log = logging.getLogger(__name__)

LOCAL_DEADLETTERS = Path(".squall/deadletters.db")

__all__ = [
    "ConcurrencyConflict",
    "DeadLetter",
    "DeadLetterSink",
    "DeadLetterStore",
    "DedupeStore",
    "EntityState",
    "MemoryStore",
    "OutboxEntry",
    "RuleSetNotFound",
    "RuleSetSnapshot",
    "RuleStore",
    "StateStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "commit_entity_updates",
    "open_store",
]


async def open_store(spec: str, settings: Settings) -> Store:
    """The store named by ``spec`` (``SQUALL_STORE``): ``memory``, ``sqlite:PATH`` or ``cosmos``."""
    kind, _, argument = spec.partition(":")
    if kind == "memory" and not argument:
        return MemoryStore()
    if kind == "sqlite" and argument:
        from shared.store.sqlite import SqliteStore

        return SqliteStore(argument)
    if kind == "cosmos" and not argument:
        return _open_cosmos(settings)
    raise StoreError(f"SQUALL_STORE={spec!r} is not a store: use memory, sqlite:PATH or cosmos")


def _open_cosmos(settings: Settings) -> Store:
    """Cosmos DB for rules, state and dedupe; dead letters in Blob storage when configured."""
    from shared.store.cosmos import CosmosStore

    if settings.deadletter_blob_service_uri or settings.deadletter_connection_string:
        from shared.store.blob_deadletters import BlobDeadLetterStore

        blob = BlobDeadLetterStore.from_settings(settings)
        return CosmosStore.from_settings(settings, deadletters=blob, closing=[blob])
    from shared.store.sqlite import SqliteStore

    log.info("dead letters go to %s (DEADLETTER__blobServiceUri is unset)", LOCAL_DEADLETTERS)
    local = SqliteStore(LOCAL_DEADLETTERS)
    return CosmosStore.from_settings(settings, deadletters=local.deadletters, closing=[local])
