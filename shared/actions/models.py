"""Planned actions and what became of them."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    JOURNEY_ENTRY = "journey_entry"  # Marketing Cloud /interaction/v1/events (or the async batch form)
    DATA_EXTENSION_ROW = "data_extension_row"  # Marketing Cloud /hub/v1/dataevents/key:{key}/rowset
    WEBHOOK = "webhook"  # signed generic webhook
    EVENTBRIDGE = "eventbridge"  # Amazon EventBridge PutEvents


#: Where an action goes unless it names another destination: Marketing Cloud.
DEFAULT_DESTINATION = "sfmc"


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One thing to send, decided by one rule match.

    ``key`` is deterministic (rule id + event id + kind + destination), so a replayed batch plans
    the same keys and the store can tell what was already delivered; it travels as the
    ``Idempotency-Key`` header of every request that carries the action.

    ``destination`` names where the action goes: ``"sfmc"`` (Marketing Cloud) or the name of a
    webhook (``SQUALL_WEBHOOKS``) or an EventBridge bus (``SQUALL_EVENTBRIDGE``) from configuration —
    never a URL.

    For ``DATA_EXTENSION_ROW``: ``data_extension_key`` is the data extension's external key,
    ``row_keys`` its primary-key columns and ``data`` the other columns of the row. For
    ``EVENTBRIDGE``: ``detail_type`` is the event's ``DetailType``.
    """

    key: str
    kind: ActionKind
    rule_id: str
    event_id: str
    entity: str
    contact_key: str
    event_definition_key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    destination: str = DEFAULT_DESTINATION
    data_extension_key: str | None = None
    row_keys: dict[str, Any] = field(default_factory=dict)
    detail_type: str | None = None


def action_to_json(action: PlannedAction) -> dict[str, Any]:
    """The JSON form of an action, as the outbox and a dead letter keep it."""
    data = {name: getattr(action, name) for name in _ACTION_FIELDS}  # its fields are JSON values
    data["kind"] = str(action.kind)
    data["data"] = copy.deepcopy(action.data)
    data["row_keys"] = copy.deepcopy(action.row_keys)
    return data


def action_from_json(data: dict[str, Any]) -> PlannedAction:
    """An action back from its JSON form (unknown keys, from a newer version, are ignored)."""
    values = {k: v for k, v in data.items() if k in _ACTION_FIELDS}
    values["kind"] = ActionKind(values["kind"])
    return PlannedAction(**values)


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # retries exhausted or permanent error: dead-lettered


class FailureKind(StrEnum):
    """Why a FAILED action failed: the error taxonomy of delivery.

    ``retryable`` kinds may succeed if the same action is sent again later (batch replay, outbox
    retry); the others will fail again until data or configuration is fixed (dead-letter them).
    """

    TRANSIENT = "transient"  # 5xx, 408, transport error or timeout, after every retry
    THROTTLED = "throttled"  # 429 after every retry, or Retry-After longer than we wait
    CIRCUIT_OPEN = "circuit_open"  # not sent: the destination's circuit breaker is open
    AUTH = "auth"  # credentials refused, or 401 even with a fresh token
    PERMANENT = "permanent"  # the destination refused the data (4xx other than 401/408/429)
    UNSUPPORTED = "unsupported"  # not sent: the action cannot be sent there (kind, missing fields)

    @property
    def retryable(self) -> bool:
        return self in (FailureKind.TRANSIENT, FailureKind.THROTTLED, FailureKind.CIRCUIT_OPEN)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    action: PlannedAction
    status: DeliveryStatus
    attempts: int
    reason: str | None = None
    response_id: str | None = None  # e.g. Marketing Cloud's eventInstanceId
    failure: FailureKind | None = None  # set when status is FAILED

    @property
    def retryable(self) -> bool:
        """A FAILED outcome that sending again later may fix (see ``FailureKind.retryable``)."""
        return self.status is DeliveryStatus.FAILED and self.failure is not None and self.failure.retryable


_ACTION_FIELDS = frozenset(f.name for f in dataclasses.fields(PlannedAction))
