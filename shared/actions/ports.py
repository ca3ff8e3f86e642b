"""The port the pipeline delivers through; Marketing Cloud and webhook deliverers implement it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from shared.actions.models import DeliveryOutcome, PlannedAction

SettledCallback = Callable[[Sequence[DeliveryOutcome]], Awaitable[None]]
"""Told the outcomes of one request as soon as that request has settled (its retries done)."""

SendingCallback = Callable[[Sequence[PlannedAction]], Awaitable[None]]
"""Told the actions of one request just before its first attempt goes out."""


class ActionSender(Protocol):
    async def deliver(
        self,
        actions: Sequence[PlannedAction],
        *,
        on_sending: SendingCallback | None = None,
        on_settled: SettledCallback | None = None,
    ) -> list[DeliveryOutcome]:
        """Deliver each action; one outcome per action, in any order. Never raises for one action.

        ``on_sending`` is awaited with each request's actions just before the request first goes
        out, and ``on_settled`` with its outcomes as soon as it settles (before the others finish):
        the caller can mark what is in flight and record a delivery the moment it happens, so a crash
        leaves exactly the requests in flight unsettled. Outcomes decided without a request (an
        unsupported action, an open circuit) may come only in the result.
        """
        ...
