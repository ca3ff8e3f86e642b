"""Deliver a batch of planned actions to Marketing Cloud with bounded concurrency.

One ``MarketingCloudDeliverer`` owns one ``httpx.AsyncClient`` (keep-alive pool sized to the
concurrency), one token cache and one journey client; reuse it across batches.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

import httpx

from shared.actions.models import ActionKind, DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.sfmc_auth import MarketingCloudTokenProvider
from shared.actions.sfmc_config import MarketingCloudConfig
from shared.actions.sfmc_journey import MarketingCloudJourneyClient, RetryPolicy

logger = logging.getLogger(__name__)

#: ``PlannedAction.destination`` this deliverer serves.
SFMC_DESTINATION = "sfmc"


class MarketingCloudDeliverer:
    """``async with MarketingCloudDeliverer(config) as d: outcomes = await d.deliver(actions)``.

    ``http`` may be passed in (then the caller closes it); ``clock``, ``sleep`` and ``jitter`` exist
    so tests can control time without waiting.
    """

    def __init__(
        self,
        config: MarketingCloudConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._owns_http = http is None
        self._http = http or _new_http_client(config)
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the connections belong to
        self._tokens = MarketingCloudTokenProvider(
            self._http,
            auth_base_url=config.auth_base_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            account_id=config.account_id,
            clock=clock,
        )
        policy = RetryPolicy(
            max_attempts=config.max_attempts,
            backoff_base_s=config.backoff_base_s,
            backoff_max_s=config.backoff_max_s,
        )
        self._journeys = MarketingCloudJourneyClient(
            self._http,
            self._tokens,
            rest_base_url=config.rest_base_url,
            policy=policy,
            sleep=sleep,
            jitter=jitter,
        )

    async def __aenter__(self) -> MarketingCloudDeliverer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._owns_http:
            return
        if self._loop not in (None, asyncio.get_running_loop()):
            # The pool's sockets belong to an event loop that has ended; they cannot be closed from here.
            logger.debug("dropping Marketing Cloud connections opened on another event loop")
            return
        await self._http.aclose()

    async def deliver(self, actions: Sequence[PlannedAction]) -> list[DeliveryOutcome]:
        """One outcome per action, in the order given. A single action's failure is an outcome."""
        self._follow_running_loop()
        self._tokens.forget_failure()  # credentials may have been fixed since the last batch
        outcomes = list(await asyncio.gather(*(self._deliver_one(action) for action in actions)))
        # Batch-level failures ("destination down for everyone") are decided here, from the outcomes,
        # and raised as errors.DestinationUnavailable(retry_after=...) so the whole batch is replayed.
        _log_summary(outcomes)
        return outcomes

    def _follow_running_loop(self) -> None:
        """Re-create loop-bound parts when called from a new event loop (e.g. successive asyncio.run).

        The Functions worker keeps one loop, so this normally runs once; the cached token survives.
        """
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            logger.debug("event loop changed: opening new Marketing Cloud connections")
            if self._owns_http:
                self._http = _new_http_client(self._config)
            self._slots = asyncio.Semaphore(self._config.max_concurrency)
            self._tokens.rebind(self._http)
            self._journeys.rebind(self._http)
        self._loop = loop

    async def _deliver_one(self, action: PlannedAction) -> DeliveryOutcome:
        problem = _unsupported(action)
        if problem is not None:
            logger.warning("action %s (rule %s) not sent: %s", action.key, action.rule_id, problem)
            return DeliveryOutcome(action, DeliveryStatus.FAILED, attempts=0, reason=problem)
        async with self._slots:
            return await self._journeys.enter(action)


def _new_http_client(config: MarketingCloudConfig) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=config.max_concurrency, max_keepalive_connections=config.max_concurrency
    )
    return httpx.AsyncClient(timeout=httpx.Timeout(config.timeout_s), limits=limits)


def _unsupported(action: PlannedAction) -> str | None:
    """Why this deliverer cannot send ``action``, or None when it can."""
    if action.kind is not ActionKind.JOURNEY_ENTRY or action.destination != SFMC_DESTINATION:
        return f"not a Marketing Cloud journey entry (kind={action.kind}, destination={action.destination})"
    if not action.event_definition_key:
        return "journey entry action without event_definition_key"
    return None


def _log_summary(outcomes: Sequence[DeliveryOutcome]) -> None:
    if not outcomes:
        return
    counts = Counter(outcome.status.value for outcome in outcomes)
    attempts = sum(outcome.attempts for outcome in outcomes)
    logger.info("Marketing Cloud batch: %s, %d HTTP attempts", dict(sorted(counts.items())), attempts)
