"""Actions: what rule matches plan, and delivering it (Marketing Cloud journey entry events)."""

from __future__ import annotations

from shared.actions.delivery import MarketingCloudDeliverer
from shared.actions.errors import (
    DeliveryError,
    DestinationUnavailable,
    MarketingCloudAuthError,
    MarketingCloudConfigError,
    MarketingCloudUnavailable,
)
from shared.actions.models import ActionKind, DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.planning import PlanResult, plan_actions
from shared.actions.ports import ActionSender
from shared.actions.sfmc_auth import MarketingCloudTokenProvider
from shared.actions.sfmc_config import MarketingCloudConfig
from shared.actions.sfmc_journey import MarketingCloudJourneyClient, RetryPolicy

__all__ = [
    "ActionKind",
    "ActionSender",
    "DeliveryError",
    "DeliveryOutcome",
    "DeliveryStatus",
    "DestinationUnavailable",
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
    "plan_actions",
]
