"""Salesforce Marketing Cloud: OAuth2 tokens, journey entry (one call, or the async batch form) and
data-extension rows, behind one ``MarketingCloudDeliverer`` (an ``ActionSender``)."""

from __future__ import annotations

from shared.actions.sfmc.auth import MarketingCloudTokenProvider
from shared.actions.sfmc.config import MarketingCloudConfig
from shared.actions.sfmc.deliverer import SFMC_DESTINATION, MarketingCloudDeliverer
from shared.actions.sfmc.journey import MarketingCloudJourneyClient

__all__ = [
    "SFMC_DESTINATION",
    "MarketingCloudConfig",
    "MarketingCloudDeliverer",
    "MarketingCloudJourneyClient",
    "MarketingCloudTokenProvider",
]
