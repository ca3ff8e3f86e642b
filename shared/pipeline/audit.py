"""The delivery audit: one record per settled action and per shadow rule's firing, ids only.

It answers "did alice enter APIEvent-signin-help, and when?". Each record is written twice:

- an INFO log record of the ``shared.audit`` logger whose fields (custom dimensions in Application
  Insights) are ``audit=delivery``, ``rule_id``, ``entity``, ``destination``, ``action_kind``,
  ``action_key``, ``event_id``, ``attempts`` and ``outcome`` — in Azure, this is the audit;
- a row through ``StateStore.record_deliveries``: the ``deliveries`` table of the SQLite store
  (``squall deliveries list``); the Cosmos adapter writes nothing.

``entity`` is the entity's hash (``entity_hash``) unless ``SQUALL_AUDIT_ENTITY=key``. The outbox
writes the records of each settled request at once, and a batch those of its shadow firings at its
end: the audit costs one write per request or batch, never one per event or per action.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.actions.models import DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.log_fields import (
    ACTION_KEY,
    ACTION_KIND,
    ATTEMPTS,
    AUDIT,
    DESTINATION,
    ENTITY,
    EVENT_ID,
    OUTCOME,
    RULE_ID,
    entity_hash,
)
from shared.store.models import AuditOutcome, DeliveryRecord
from shared.store.ports import StateStore

AuditEntity = Literal["hash", "key"]
#: The value of the ``audit`` field on every audit log record (the one filter for them).
AUDIT_RECORD = "delivery"

log = logging.getLogger("shared.audit")


@dataclass(frozen=True, slots=True)
class DeliveryAudit:
    """Makes and writes audit records; ``entity`` says how they name the entity (``SQUALL_AUDIT_ENTITY``)."""

    entity: AuditEntity = "hash"

    def entity_name(self, entity: str) -> str:
        """The entity as the audit names it: its hash, or its key."""
        return entity if self.entity == "key" else entity_hash(entity)

    def settled(self, outcomes: Sequence[DeliveryOutcome], *, at: datetime) -> list[DeliveryRecord]:
        """Records of settled outcomes: delivered, or failed for good (dead-lettered)."""
        return [
            self._record(
                o.action,
                AuditOutcome.DELIVERED if o.status is DeliveryStatus.DELIVERED else AuditOutcome.DEAD_LETTERED,
                at=at,
                attempts=o.attempts,
            )
            for o in outcomes
        ]

    def shadowed(self, actions: Sequence[PlannedAction], *, at: datetime) -> list[DeliveryRecord]:
        """Records of what shadow rules would have sent (never sent: no attempts)."""
        return [self._record(action, AuditOutcome.SHADOW, at=at, attempts=0) for action in actions]

    async def write(self, states: StateStore | None, records: Sequence[DeliveryRecord]) -> None:
        """Log each record at INFO, then keep them in the store with one call (none when empty, or
        when there is no store: the log record is then the only audit)."""
        if not records:
            return
        if log.isEnabledFor(logging.INFO):  # the fields are built only for a logger that keeps them
            for record in records:
                _log(record)
        if states is not None:
            await states.record_deliveries(records)

    def _record(self, action: PlannedAction, outcome: AuditOutcome, *, at: datetime, attempts: int) -> DeliveryRecord:
        return DeliveryRecord(
            rule_id=action.rule_id, entity=self.entity_name(action.entity), destination=action.destination,
            kind=action.kind.value, key=action.key, at=at, attempts=attempts, outcome=outcome,
            event_id=action.event_id,
        )  # fmt: skip


def _log(record: DeliveryRecord) -> None:
    log.info(
        "audit %s: rule=%s entity=%s %s -> %s key=%s attempts=%d",
        record.outcome.value, record.rule_id, record.entity, record.kind, record.destination, record.key,
        record.attempts,
        extra={
            AUDIT: AUDIT_RECORD, RULE_ID: record.rule_id, ENTITY: record.entity, DESTINATION: record.destination,
            ACTION_KIND: record.kind, ACTION_KEY: record.key, EVENT_ID: record.event_id,
            ATTEMPTS: record.attempts, OUTCOME: record.outcome.value,
        },
    )  # fmt: skip
