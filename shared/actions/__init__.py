"""Actions: what rule matches plan, the port that delivers them, and what became of each.

The core only: models, ports, planning and errors (no HTTP client is imported here). The
deliverers live by destination — ``shared.actions.sfmc`` (Marketing Cloud) and
``shared.actions.webhook`` (signed webhooks) — and ``shared.actions.routing.open_action_sender``
builds the router over them; ``shared/wiring.py`` is what calls it.
"""

from __future__ import annotations

from shared.actions.errors import (
    DeliveryError,
    DestinationUnavailable,
    EventBridgeConfigError,
    MarketingCloudAuthError,
    MarketingCloudConfigError,
    MarketingCloudUnavailable,
    WebhookConfigError,
)
from shared.actions.models import (
    ActionKind,
    DeliveryOutcome,
    DeliveryStatus,
    FailureKind,
    PlannedAction,
    action_from_json,
    action_to_json,
)
from shared.actions.planning import PlanFailure, PlanResult, idempotency_key, plan_actions
from shared.actions.ports import ActionSender

__all__ = [
    "ActionKind",
    "ActionSender",
    "DeliveryError",
    "DeliveryOutcome",
    "DeliveryStatus",
    "DestinationUnavailable",
    "EventBridgeConfigError",
    "FailureKind",
    "MarketingCloudAuthError",
    "MarketingCloudConfigError",
    "MarketingCloudUnavailable",
    "PlanFailure",
    "PlanResult",
    "PlannedAction",
    "WebhookConfigError",
    "action_from_json",
    "action_to_json",
    "idempotency_key",
    "plan_actions",
]
