"""Records the store ports read and write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(slots=True)
class EntityState:
    """Everything the rules remember about one entity (cool-downs, windows, ...), as JSON data.

    ``etag`` is the store's concurrency token from the last read; ``None`` for a new entity.
    ``due_at`` is the entity's earliest pending rule deadline (an absence rule waiting for its time),
    stored beside the data and indexed so the timer can find due entities (``due_entities``);
    ``None`` when nothing is pending. The rule set keeps it current (``CompiledRuleSet.evaluate``
    and ``fire_due`` set it; ``next_deadline`` computes it).
    """

    entity: str
    data: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleSetSnapshot:
    """One version of a named rule set: the raw definitions as stored (validated on write).

    ``created_at`` is when the version was stored (UTC), when the store knows it.
    """

    name: str
    version: int
    rules: list[dict[str, Any]]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SuppressedEntity:
    """One entry of the suppression list: the entity's hash (``shared.log_fields.entity_hash``, never
    the key itself) and when it was added (UTC, when the store knows it)."""

    hash: str
    added_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SuppressionList:
    """The suppressed entities of a store, at one version (0: nothing was ever suppressed).

    The version moves on every change, so a reader can cache the list and re-read it only when the
    cheap ``suppression_version`` says it moved (``RuleSetCache`` does, beside the rule set).
    """

    version: int
    entries: tuple[SuppressedEntity, ...] = ()

    @property
    def hashes(self) -> frozenset[str]:
        return frozenset(entry.hash for entry in self.entries)


class DeadLetterKind(StrEnum):
    """What a dead letter holds: an event (refused or failed in the rules) or an action (not delivered)."""

    EVENT = "event"
    ACTION = "action"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event or action that could not be processed, with why and where it came from (and whose)."""

    kind: DeadLetterKind
    reason: str
    payload: bytes
    partition: str | None = None
    sequence_number: int | None = None
    offset: str | None = None
    enqueued_time: datetime | None = None
    event_id: str | None = None
    rule_id: str | None = None
    action_key: str | None = None
    attempts: int = 0
    created_at: datetime | None = None
    id: str | None = None  # the store's id once stored (SQLite row id, blob name); ignored on write
    #: The entity whose event or action it holds, when the pipeline knew it (``None``: a record the
    #: normalizer refused, or a letter stored before letters named their entity). How ``squall state
    #: delete`` finds an entity's letters (``shared.store.deadletter_entity``).
    entity: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A planned action, written to the outbox before its entity's state commits, kept until it is
    delivered (or dead-lettered).

    ``key`` is the action's idempotency key; ``action`` its JSON form (``dataclasses.asdict`` of a
    ``PlannedAction``). The store stamps ``created_at`` (UTC) when it is ``None``. ``batch`` names
    the outbox document the entry belongs to (``outbox_doc``): the entries one Event Hubs batch (or
    one fired deadline) planned share one document, so writes follow batches, not actions; a key
    appears once per document however often a replay plans it. ``sending_at`` is set once a
    deliverer has marked the entry in flight: a later deliverer that finds it so counts it uncertain.
    """

    entity: str
    key: str
    action: dict[str, Any]
    created_at: datetime | None = None
    attempts: int = 0
    batch: str = ""
    sending_at: datetime | None = None

    @property
    def doc(self) -> str:
        """The outbox document of this entry: its batch, or one per entity when it names none."""
        return self.batch or f"entity:{self.entity}"


class AuditOutcome(StrEnum):
    """What became of an action in the delivery audit."""

    DELIVERED = "delivered"  # the destination took it
    DEAD_LETTERED = "dead_lettered"  # refused for good, or out of attempts: in the dead-letter store
    SHADOW = "shadow"  # a shadow rule's match: what it would have sent; never sent


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One line of the delivery audit: ids only, never the action's data.

    ``entity`` is the entity's hash (``shared.log_fields.entity_hash``) or its key, as
    ``SQUALL_AUDIT_ENTITY`` says; ``key`` the action's idempotency key; ``at`` when it was settled
    (or, for a shadow rule, evaluated); ``attempts`` the requests it took (0 for a shadow record).
    """

    rule_id: str
    entity: str
    destination: str
    kind: str
    key: str
    at: datetime
    attempts: int
    outcome: AuditOutcome
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """Which audit records to list (``None`` or empty: any), newest first, at most ``limit``.

    ``entities``: the names the entity may be recorded under (its hash and its key, since the
    records name it as ``SQUALL_AUDIT_ENTITY`` said when they were written). ``since`` is
    inclusive, ``until`` exclusive."""

    entities: tuple[str, ...] = ()
    rule_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: AuditOutcome | None = None
    limit: int = 100
