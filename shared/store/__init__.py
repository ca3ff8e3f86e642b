"""Storage: the ports the core depends on, their records and errors (no adapter is imported here).

Adapters: ``memory`` (tests), ``sqlite:PATH`` (the embedded default) and ``cosmos`` (Azure), with
dead letters in SQLite or Blob storage; ``shared.wiring.open_store`` picks one from settings. The
same contract suite (tests/contract) runs against each. ``optimistic.commit_entity_updates`` is the
algorithm every adapter's state writes share.
"""

from __future__ import annotations

from shared.store.errors import ConcurrencyConflict, RuleSetNotFound, StoreError, StoreUnavailable
from shared.store.models import (
    AuditOutcome,
    DeadLetter,
    DeadLetterKind,
    DeliveryQuery,
    DeliveryRecord,
    EntityState,
    OutboxEntry,
    RuleSetSnapshot,
    SuppressedEntity,
    SuppressionList,
)
from shared.store.ports import (
    DeadLetterSink,
    DeadLetterStore,
    DedupeStore,
    RuleStore,
    StateStore,
    Store,
)

__all__ = [
    "AuditOutcome",
    "ConcurrencyConflict",
    "DeadLetter",
    "DeadLetterKind",
    "DeadLetterSink",
    "DeadLetterStore",
    "DedupeStore",
    "DeliveryQuery",
    "DeliveryRecord",
    "EntityState",
    "OutboxEntry",
    "RuleSetNotFound",
    "RuleSetSnapshot",
    "RuleStore",
    "StateStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "SuppressedEntity",
    "SuppressionList",
]
