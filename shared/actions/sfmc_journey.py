"""Journey Builder entry events: ``POST {rest_base}/interaction/v1/events``, retried as the API asks.

One call enters one contact into the journeys listening on an event definition key. Outcomes are
data: ``enter()`` returns a ``DeliveryOutcome`` for every action and never raises for its failure.

Retry policy: 429 (``Retry-After`` honoured), 408, 5xx and transport errors are retried with
exponential backoff and full jitter; a 401 drops the token and retries once with a new one; any
other 4xx is a permanent data error, failed at once with the API's message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

import httpx

from shared.actions.errors import MarketingCloudAuthError, MarketingCloudUnavailable
from shared.actions.models import DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.sfmc_auth import MarketingCloudTokenProvider
from shared.actions.sfmc_responses import error_summary, response_id, retry_after_seconds

logger = logging.getLogger(__name__)

EVENTS_PATH = "/interaction/v1/events"
_RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry one action."""

    max_attempts: int = 5
    backoff_base_s: float = 0.2
    backoff_max_s: float = 10.0

    def backoff_delay(self, attempt: int, *, jitter: float) -> float:
        """Full jitter: ``jitter`` (0..1) times the exponential ceiling for this attempt (1-based)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return ceiling * jitter


class _Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    UNAUTHORIZED = "unauthorized"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class _AttemptResult:
    verdict: _Verdict
    reason: str | None = None
    response_id: str | None = None
    retry_after: float | None = None


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
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._events_url = f"{rest_base_url.rstrip('/')}{EVENTS_PATH}"
        self._policy = policy
        self._sleep = sleep
        self._jitter = jitter

    async def enter(self, action: PlannedAction) -> DeliveryOutcome:
        """Deliver one journey entry event, retrying transient failures; never raises for it."""
        try:
            body = _request_body(action)
        except (TypeError, ValueError) as exc:
            return self._outcome(action, DeliveryStatus.FAILED, 0, reason=f"Data is not JSON: {exc}")
        attempts, token_refreshed, reason = 0, False, "no attempt made"
        while attempts < self._policy.max_attempts:
            attempts += 1
            result = await self._attempt(body)
            reason = result.reason or reason
            if result.verdict is _Verdict.DELIVERED:
                delivered = DeliveryStatus.DELIVERED
                return self._outcome(action, delivered, attempts, response_id=result.response_id)
            if result.verdict is _Verdict.UNAUTHORIZED and not token_refreshed:
                token_refreshed = True  # the stale token was dropped: retry at once with a new one
                continue
            if result.verdict is not _Verdict.RETRY:  # permanent error, or 401 even with a new token
                return self._outcome(action, DeliveryStatus.FAILED, attempts, reason=reason)
            if attempts < self._policy.max_attempts:
                delay = self._retry_delay(result, attempts)
                if delay is None:
                    reason = f"{reason}; Retry-After {result.retry_after:.0f} s exceeds backoff_max_s"
                    return self._outcome(action, DeliveryStatus.FAILED, attempts, reason=reason)
                logger.info("retrying action %s in %.2f s: %s", action.key, delay, reason)
                await self._sleep(delay)
        reason = f"gave up after {attempts} attempts: {reason}"
        return self._outcome(action, DeliveryStatus.FAILED, attempts, reason=reason)

    def rebind(self, http: httpx.AsyncClient) -> None:
        """Send through ``http`` from now on (the deliverer opened a new pool on a new event loop)."""
        self._http = http

    async def _attempt(self, body: bytes) -> _AttemptResult:
        try:
            token = await self._tokens.get_token()
        except MarketingCloudAuthError as exc:
            return _AttemptResult(_Verdict.PERMANENT, reason=str(exc))
        except MarketingCloudUnavailable as exc:
            return _AttemptResult(_Verdict.RETRY, reason=str(exc), retry_after=exc.retry_after)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}
        try:
            response = await self._http.post(self._events_url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return _AttemptResult(_Verdict.RETRY, reason=f"transport error ({type(exc).__name__})")
        if response.status_code == 401:
            self._tokens.invalidate(token)
            return _AttemptResult(_Verdict.UNAUTHORIZED, reason=error_summary(response))
        return _classify(response)

    def _retry_delay(self, result: _AttemptResult, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None when the server asks for longer than we wait."""
        if result.retry_after is None:
            return self._policy.backoff_delay(attempt, jitter=self._jitter())
        if result.retry_after > self._policy.backoff_max_s:
            return None
        return result.retry_after

    @staticmethod
    def _outcome(
        action: PlannedAction,
        status: DeliveryStatus,
        attempts: int,
        *,
        reason: str | None = None,
        response_id: str | None = None,
    ) -> DeliveryOutcome:
        level = logging.DEBUG if status is DeliveryStatus.DELIVERED else logging.WARNING
        logger.log(
            level,
            "journey entry action=%s rule=%s status=%s attempts=%d%s",
            action.key,
            action.rule_id,
            status.value,
            attempts,
            f" reason={reason}" if reason else "",
        )
        return DeliveryOutcome(action, status, attempts, reason=reason, response_id=response_id)


def _request_body(action: PlannedAction) -> bytes:
    """The API's own field names; UTF-8 JSON (the API wants ``charset=utf-8`` for non-ASCII data)."""
    document = {
        "ContactKey": action.contact_key,
        "EventDefinitionKey": action.event_definition_key,
        "Data": action.data,
    }
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _classify(response: httpx.Response) -> _AttemptResult:
    status = response.status_code
    if status in (200, 201):
        return _AttemptResult(_Verdict.DELIVERED, response_id=response_id(response))
    if status in _RETRYABLE_STATUSES or status >= 500:
        hint = retry_after_seconds(response)
        return _AttemptResult(_Verdict.RETRY, reason=error_summary(response), retry_after=hint)
    return _AttemptResult(_Verdict.PERMANENT, reason=error_summary(response))
