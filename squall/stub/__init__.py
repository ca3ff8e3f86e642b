"""A local Salesforce Marketing Cloud: token + journey entry endpoints over real HTTP (`squall stub`)."""

from __future__ import annotations

from squall.stub.server import MarketingCloudStub

__all__ = ["MarketingCloudStub"]
