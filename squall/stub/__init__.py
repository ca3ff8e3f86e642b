"""A local Salesforce Marketing Cloud over real HTTP (`squall stub`): token, journey entry (sync and
async batch) and data-extension rowset endpoints, with fault injection."""

from __future__ import annotations

from squall.stub.faults import FaultRates
from squall.stub.server import MarketingCloudStub

__all__ = ["FaultRates", "MarketingCloudStub"]
