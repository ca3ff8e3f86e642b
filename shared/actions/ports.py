"""The port the pipeline delivers through; Marketing Cloud and webhook deliverers implement it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared.actions.models import DeliveryOutcome, PlannedAction


class ActionSender(Protocol):
    async def deliver(self, actions: Sequence[PlannedAction]) -> list[DeliveryOutcome]:
        """Deliver each action; one outcome per action, in any order. Never raises for one action."""
        ...
