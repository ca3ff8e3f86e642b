"""Actions: what rule matches plan, and delivering it (Marketing Cloud, signed webhooks)."""

from __future__ import annotations

from shared.actions.breaker import BreakerState, CircuitBreaker
from shared.actions.delivery import MarketingCloudDeliverer
from shared.actions.errors import (
    DeliveryError,
    DestinationUnavailable,
    MarketingCloudAuthError,
    MarketingCloudConfigError,
    MarketingCloudUnavailable,
    WebhookConfigError,
)
from shared.actions.models import ActionKind, DeliveryOutcome, DeliveryStatus, FailureKind, PlannedAction
from shared.actions.planning import PlanResult, plan_actions
from shared.actions.ports import ActionSender
from shared.actions.routing import ActionRouter, open_action_sender
from shared.actions.sfmc_auth import MarketingCloudTokenProvider
from shared.actions.sfmc_config import MarketingCloudConfig
from shared.actions.sfmc_journey import MarketingCloudJourneyClient, RetryPolicy
from shared.actions.webhook_config import WebhookDestination, webhooks_from_settings
from shared.actions.webhook_delivery import WebhookDeliverer
from shared.actions.webhook_signing import signature_header, verify_signature

__all__ = [
    "ActionKind",
    "ActionRouter",
    "ActionSender",
    "BreakerState",
    "CircuitBreaker",
    "DeliveryError",
    "DeliveryOutcome",
    "DeliveryStatus",
    "DestinationUnavailable",
    "FailureKind",
    "MarketingCloudAuthError",
    "MarketingCloudConfig",
    "MarketingCloudConfigError",
    "MarketingCloudDeliverer",
    "MarketingCloudJourneyClient",
    "MarketingCloudTokenProvider",
    "MarketingCloudUnavailable",
    "PlanResult",
    "PlannedAction",
    "RetryPolicy",
    "WebhookConfigError",
    "WebhookDeliverer",
    "WebhookDestination",
    "open_action_sender",
    "plan_actions",
    "signature_header",
    "verify_signature",
    "webhooks_from_settings",
]
