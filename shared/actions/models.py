"""Planned actions and what became of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    JOURNEY_ENTRY = "journey_entry"  # Marketing Cloud /interaction/v1/events
    WEBHOOK = "webhook"  # signed generic webhook


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One thing to send, decided by one rule match.

    ``key`` is deterministic (rule id + rule version + event id + kind), so a replayed batch plans
    the same keys and the store can tell what was already delivered.
    """

    key: str
    kind: ActionKind
    rule_id: str
    event_id: str
    entity: str
    contact_key: str
    event_definition_key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    destination: str = "sfmc"


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # retries exhausted or permanent error: dead-lettered


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    action: PlannedAction
    status: DeliveryStatus
    attempts: int
    reason: str | None = None
    response_id: str | None = None  # e.g. Marketing Cloud's eventInstanceId
