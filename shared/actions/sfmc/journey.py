"""Journey Builder entry events: ``POST {rest_base}/interaction/v1/events``, retried as the API asks.

One call enters one contact into the journeys listening on an event definition key. Outcomes are
data: ``enter()`` returns a ``DeliveryOutcome`` for every action and never raises for its failure.

Retry policy (``shared.actions.retrying``): 429 (``Retry-After`` honoured), 408, 5xx and transport
errors are retried with exponential backoff and full jitter; a 401 drops the token and retries
once with a new one; any other 4xx is a permanent data error, failed at once with the API's message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx

from shared.actions.breaker import CircuitBreaker
from shared.actions.models import DeliveryOutcome, FailureKind, PlannedAction
from shared.actions.outcomes import failed, outcome_from
from shared.actions.retrying import AttemptResult, Retrier, RetryPolicy
from shared.actions.sfmc.auth import MarketingCloudTokenProvider
from shared.actions.sfmc.requests import MarketingCloudRequests, json_body

EVENTS_PATH = "/interaction/v1/events"

__all__ = ["EVENTS_PATH", "MarketingCloudJourneyClient", "RetryPolicy"]


class MarketingCloudJourneyClient:
    """Sends journey entry events for planned actions over a shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: MarketingCloudTokenProvider,
        *,
        rest_base_url: str,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._requests = MarketingCloudRequests(http, tokens)
        self._events_url = f"{rest_base_url.rstrip('/')}{EVENTS_PATH}"
        self._retrier = Retrier(policy, sleep=sleep, jitter=jitter, breaker=breaker)

    async def enter(self, action: PlannedAction) -> DeliveryOutcome:
        """Deliver one journey entry event, retrying transient failures; never raises for it."""
        try:
            body = json_body(
                {
                    "ContactKey": action.contact_key,
                    "EventDefinitionKey": action.event_definition_key,
                    "Data": action.data,
                }
            )
        except (TypeError, ValueError) as exc:
            reason = f"Data is not JSON: {exc}"
            return failed(action, FailureKind.UNSUPPORTED, reason, attempts=0, what="journey entry")

        async def attempt() -> AttemptResult:
            return await self._requests.post(self._events_url, body, idempotency_key=action.key)

        settlement = await self._retrier.settle(attempt, label=f"action {action.key}")
        return outcome_from(action, settlement, what="journey entry")

    def rebind(self, http: httpx.AsyncClient) -> None:
        """Send through ``http`` from now on (the deliverer opened a new pool on a new event loop)."""
        self._requests.rebind(http)
