"""Deliver a batch of planned actions to Marketing Cloud with bounded concurrency.

One ``MarketingCloudDeliverer`` owns one ``httpx.AsyncClient`` (keep-alive pool sized to the
concurrency), one token cache, one circuit breaker and the endpoint clients; reuse it across
batches. Journey entries go one per request (``journey_entry_mode="sync"``) or up to 100 per
async batch request; data-extension rows go in rowset requests of up to ``rowset_batch_size``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

import httpx

from shared.actions.batching import chunks_by_key
from shared.actions.models import DEFAULT_DESTINATION, ActionKind, DeliveryOutcome, FailureKind, PlannedAction
from shared.actions.outcomes import failed, in_action_order, log_summary, raise_if_destination_down
from shared.actions.ports import SendingCallback, SettledCallback
from shared.actions.retrying import circuit_open_reason, guarded_retrier
from shared.actions.sfmc.async_journey import MarketingCloudAsyncJourneyClient
from shared.actions.sfmc.auth import MarketingCloudTokenProvider
from shared.actions.sfmc.config import MarketingCloudConfig
from shared.actions.sfmc.journey import MarketingCloudJourneyClient
from shared.actions.sfmc.requests import MarketingCloudRequests
from shared.actions.sfmc.rowset import MarketingCloudRowsetClient
from shared.log_fields import log_ids

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name

#: ``PlannedAction.destination`` this deliverer serves.
SFMC_DESTINATION = DEFAULT_DESTINATION

#: One request's worth of actions and the coroutine that sends it.
_Unit = tuple[list[int], Callable[[], Awaitable[list[DeliveryOutcome]]]]


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
        retrier, self.breaker = guarded_retrier(SFMC_DESTINATION, config, clock=clock, sleep=sleep, jitter=jitter)
        self._requests = MarketingCloudRequests(self._http, self._tokens)
        base = config.rest_base_url
        self._journeys = MarketingCloudJourneyClient(
            self._http,
            self._tokens,
            rest_base_url=base,
            policy=retrier.policy,
            sleep=sleep,
            jitter=jitter,
            breaker=self.breaker,
        )
        self._async_journeys = MarketingCloudAsyncJourneyClient(self._requests, rest_base_url=base, retrier=retrier)
        self._rowsets = MarketingCloudRowsetClient(self._requests, rest_base_url=base, retrier=retrier)

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

    async def deliver(
        self,
        actions: Sequence[PlannedAction],
        *,
        on_sending: SendingCallback | None = None,
        on_settled: SettledCallback | None = None,
    ) -> list[DeliveryOutcome]:
        """One outcome per action, in the order given. A single action's failure is an outcome.

        ``on_sending`` hears each request's actions before it goes out, ``on_settled`` its outcomes
        as soon as it is done.
        Raises ``DestinationUnavailable`` (with every outcome on ``exc.outcomes``) when the circuit
        breaker is open at the end and some action failed for a retryable reason: Marketing Cloud is
        down for everyone and the batch should be replayed after ``exc.retry_after`` seconds.
        """
        self._follow_running_loop()
        self._tokens.forget_failure()  # credentials may have been fixed since the last batch
        outcomes: list[DeliveryOutcome | None] = [None] * len(actions)
        units = self._plan_units(actions, outcomes)
        results = await asyncio.gather(
            *(self._run_unit(actions, indexes, send, on_sending, on_settled) for indexes, send in units)
        )
        settled = in_action_order(outcomes, [indexes for indexes, _ in units], results)
        log_summary("Marketing Cloud", settled)
        raise_if_destination_down(self.breaker, settled)
        return settled

    def _plan_units(self, actions: Sequence[PlannedAction], outcomes: list[DeliveryOutcome | None]) -> list[_Unit]:
        """Cut the batch into requests; actions that cannot be sent get their outcome at once."""
        journeys, rows = [], []
        for index, action in enumerate(actions):
            problem = _unsupported(action)
            if problem is not None:
                logger.warning(
                    "action %s (rule %s) not sent: %s", action.key, action.rule_id, problem,
                    extra=log_ids(action_key=action.key, rule_id=action.rule_id, event_id=action.event_id),
                )  # fmt: skip
                outcomes[index] = failed(action, FailureKind.UNSUPPORTED, problem, attempts=0, what="action")
            elif action.kind is ActionKind.JOURNEY_ENTRY:
                journeys.append(index)
            else:
                rows.append(index)
        units: list[_Unit] = []
        if self._config.journey_entry_mode == "sync":
            for index in journeys:
                units.append(([index], _single(self._journeys.enter, actions[index])))
        else:
            size = self._config.async_batch_size
            for chunk in chunks_by_key(journeys, lambda i: actions[i].event_definition_key, size):
                units.append((chunk, _many(self._async_journeys.enter_batch, [actions[i] for i in chunk])))
        for chunk in chunks_by_key(rows, lambda i: actions[i].data_extension_key, self._config.rowset_batch_size):
            units.append((chunk, _many(self._rowsets.upsert, [actions[i] for i in chunk])))
        return units

    async def _run_unit(
        self,
        actions: Sequence[PlannedAction],
        indexes: list[int],
        send: Callable[[], Awaitable[list[DeliveryOutcome]]],
        on_sending: SendingCallback | None,
        on_settled: SettledCallback | None,
    ) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome] | None = None
        async with self._slots, self.breaker.admission() as admitted:
            if admitted:
                if on_sending is not None:
                    await on_sending([actions[i] for i in indexes])
                outcomes = await send()
        if outcomes is not None:
            if on_settled is not None:  # after the slot is free: the next request need not wait
                await on_settled(outcomes)
            return outcomes
        reason = circuit_open_reason(self.breaker)
        return [failed(actions[i], FailureKind.CIRCUIT_OPEN, reason, attempts=0, what="action") for i in indexes]

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
            self._requests.rebind(self._http)
            self.breaker.forget_probe()
        self._loop = loop


def _single(
    send: Callable[[PlannedAction], Awaitable[DeliveryOutcome]], action: PlannedAction
) -> Callable[[], Awaitable[list[DeliveryOutcome]]]:
    async def run() -> list[DeliveryOutcome]:
        return [await send(action)]

    return run


def _many(
    send: Callable[[Sequence[PlannedAction]], Awaitable[list[DeliveryOutcome]]], chunk: list[PlannedAction]
) -> Callable[[], Awaitable[list[DeliveryOutcome]]]:
    async def run() -> list[DeliveryOutcome]:
        return await send(chunk)

    return run


def _new_http_client(config: MarketingCloudConfig) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=config.max_concurrency, max_keepalive_connections=config.max_concurrency)
    return httpx.AsyncClient(timeout=httpx.Timeout(config.timeout_s), limits=limits)


def _unsupported(action: PlannedAction) -> str | None:
    """Why this deliverer cannot send ``action``, or None when it can."""
    if action.destination != SFMC_DESTINATION or action.kind not in (
        ActionKind.JOURNEY_ENTRY,
        ActionKind.DATA_EXTENSION_ROW,
    ):
        return (
            "not a Marketing Cloud journey entry or data extension row "
            f"(kind={action.kind}, destination={action.destination})"
        )
    if action.kind is ActionKind.JOURNEY_ENTRY and not action.event_definition_key:
        return "journey entry action without event_definition_key"
    if action.kind is ActionKind.DATA_EXTENSION_ROW and not action.data_extension_key:
        return "data extension row action without data_extension_key"
    if action.kind is ActionKind.DATA_EXTENSION_ROW and not action.row_keys:
        return "data extension row action without row_keys (the primary key columns)"
    return None
