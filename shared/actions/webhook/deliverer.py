"""Deliver actions to signed webhooks: one JSON POST per action, retried, one breaker per destination.

Request: ``POST <url>`` with the JSON body below, ``Content-Type: application/json``,
``Idempotency-Key: <action key>`` and ``X-Squall-Signature: t=<unix>,v1=<hex>`` (see
``webhook/signing.py``; each attempt is signed anew). Answers: 2xx delivered; 408, 429 (with or
without ``Retry-After``), 5xx and transport errors retried; 401/403 an auth failure (the receiver
refused the signature); any other answer, redirects included, a permanent failure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType

import httpx

from shared.actions.breaker import CircuitBreaker
from shared.actions.errors import DestinationUnavailable
from shared.actions.models import DeliveryOutcome, FailureKind, PlannedAction
from shared.actions.outcomes import failed, in_action_order, log_summary, outcome_from, raise_if_destination_down
from shared.actions.payloads import destination_body
from shared.actions.ports import SendingCallback, SettledCallback
from shared.actions.retrying import AttemptResult, AttemptVerdict, Retrier, circuit_open_reason, guarded_retrier
from shared.actions.sfmc.requests import json_body
from shared.actions.sfmc.responses import error_summary, retry_after_seconds
from shared.actions.webhook.config import WebhookDestination
from shared.actions.webhook.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature_header
from shared.actions.webhook.targets import Resolver, TargetRefused, TargetUnresolvable, check_target, resolve_host

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name
_WHAT = "webhook"


class _Lane:
    """Everything one destination needs: its limiter, breaker and retrier."""

    def __init__(self, destination: WebhookDestination, retrier: Retrier, breaker: CircuitBreaker) -> None:
        self.destination = destination
        self.retrier = retrier
        self.breaker = breaker
        self.slots = asyncio.Semaphore(destination.max_concurrency)


class WebhookDeliverer:
    """``async with WebhookDeliverer(destinations) as d: outcomes = await d.deliver(actions)``."""

    def __init__(
        self,
        destinations: Mapping[str, WebhookDestination],
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        resolver: Resolver = resolve_host,
    ) -> None:
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the connections belong to
        self._wall_clock = wall_clock
        self._resolver = resolver
        self._lanes = {name: _new_lane(d, clock=clock, sleep=sleep, jitter=jitter) for name, d in destinations.items()}

    @property
    def destinations(self) -> frozenset[str]:
        return frozenset(self._lanes)

    async def __aenter__(self) -> WebhookDeliverer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http and self._loop in (None, asyncio.get_running_loop()):
            await self._http.aclose()

    def _follow_running_loop(self) -> None:
        """New connections and limiters when called from a new event loop (e.g. successive asyncio.run)."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            if self._owns_http:
                self._http = httpx.AsyncClient(follow_redirects=False)
            for lane in self._lanes.values():
                lane.slots = asyncio.Semaphore(lane.destination.max_concurrency)
                lane.breaker.forget_probe()
        self._loop = loop

    async def deliver(
        self,
        actions: Sequence[PlannedAction],
        *,
        on_sending: SendingCallback | None = None,
        on_settled: SettledCallback | None = None,
    ) -> list[DeliveryOutcome]:
        """One outcome per action, in order; raises ``DestinationUnavailable`` (all outcomes on it)
        when a destination's breaker is open at the end and some of its actions failed retryably.
        ``on_sending`` hears each request's action before it goes out, ``on_settled`` its outcome as
        soon as it is done."""
        self._follow_running_loop()
        by_destination: dict[str, list[int]] = {}
        for index, action in enumerate(actions):
            by_destination.setdefault(action.destination, []).append(index)
        outcomes: list[DeliveryOutcome | None] = [None] * len(actions)
        groups = list(by_destination.items())
        results = await asyncio.gather(
            *(self._deliver_to(name, [actions[i] for i in idx], on_sending, on_settled) for name, idx in groups)
        )
        settled = in_action_order(outcomes, [indexes for _, indexes in groups], results)
        log_summary("webhook", settled)
        down: DestinationUnavailable | None = None
        for name, _ in groups:
            lane = self._lanes.get(name)
            try:
                if lane is not None:
                    raise_if_destination_down(lane.breaker, settled)
            except DestinationUnavailable as exc:
                down = down or exc
        if down is not None:
            raise down
        return settled

    async def _deliver_to(
        self,
        name: str,
        actions: list[PlannedAction],
        on_sending: SendingCallback | None,
        on_settled: SettledCallback | None,
    ) -> list[DeliveryOutcome]:
        lane = self._lanes.get(name)
        if lane is None:
            reason = f"no webhook named {name!r} is configured (SQUALL_WEBHOOKS)"
            return [failed(a, FailureKind.UNSUPPORTED, reason, attempts=0, what=_WHAT) for a in actions]
        destination = lane.destination
        try:
            await check_target(destination.url, allow_private=destination.allow_private, resolver=self._resolver)
        except TargetRefused as exc:
            reason = f"webhook {name!r} refused: {exc}"
            return [failed(a, FailureKind.UNSUPPORTED, reason, attempts=0, what=_WHAT) for a in actions]
        except TargetUnresolvable as exc:
            reason = f"webhook {name!r}: {exc}"
            return [failed(a, FailureKind.TRANSIENT, reason, attempts=0, what=_WHAT) for a in actions]
        return list(
            await asyncio.gather(*(self._deliver_settled(lane, action, on_sending, on_settled) for action in actions))
        )

    async def _deliver_settled(
        self,
        lane: _Lane,
        action: PlannedAction,
        on_sending: SendingCallback | None,
        on_settled: SettledCallback | None,
    ) -> DeliveryOutcome:
        outcome = await self._deliver_one(lane, action, on_sending)
        if on_settled is not None:
            await on_settled([outcome])
        return outcome

    async def _deliver_one(
        self, lane: _Lane, action: PlannedAction, on_sending: SendingCallback | None = None
    ) -> DeliveryOutcome:
        try:
            body = json_body(webhook_body(action))
        except (TypeError, ValueError) as exc:
            return failed(action, FailureKind.UNSUPPORTED, f"Data is not JSON: {exc}", attempts=0, what=_WHAT)
        async with lane.slots, lane.breaker.admission() as admitted:
            if not admitted:
                reason = circuit_open_reason(lane.breaker)
                return failed(action, FailureKind.CIRCUIT_OPEN, reason, attempts=0, what=_WHAT)

            async def attempt() -> AttemptResult:
                return await self._post(lane.destination, body, action.key)

            if on_sending is not None:
                await on_sending([action])

            settlement = await lane.retrier.settle(attempt, label=f"webhook action {action.key}")
        return outcome_from(action, settlement, what=_WHAT)

    async def _post(self, destination: WebhookDestination, body: bytes, key: str) -> AttemptResult:
        secret = destination.secret.get_secret_value()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Squall-Webhook/1",
            IDEMPOTENCY_HEADER: key,
            SIGNATURE_HEADER: signature_header(secret, body, timestamp=int(self._wall_clock())),
        }
        try:
            response = await self._http.post(
                destination.url, content=body, headers=headers, timeout=destination.timeout_s
            )
        except httpx.TransportError as exc:
            return AttemptResult(AttemptVerdict.RETRY, reason=f"transport error ({type(exc).__name__})")
        return classify_webhook_response(response)


def webhook_body(action: PlannedAction) -> dict[str, object]:
    """The JSON every webhook receives (``data`` is the rule's rendered payload)."""
    return destination_body(action)


def classify_webhook_response(response: httpx.Response) -> AttemptResult:
    status = response.status_code
    if 200 <= status < 300:
        return AttemptResult(AttemptVerdict.DELIVERED)
    summary = f"HTTP {status} {response.reason_phrase}".rstrip() if status < 400 else error_summary(response)
    if status in (408, 429) or status >= 500:
        return AttemptResult(
            AttemptVerdict.RETRY, reason=summary, retry_after=retry_after_seconds(response), throttled=status == 429
        )
    if status in (401, 403):
        reason = f"{summary}: the receiver refused the signature (check SQUALL_WEBHOOK_SECRETS)"
        return AttemptResult(AttemptVerdict.CREDENTIALS, reason=reason)
    if 300 <= status < 400:
        return AttemptResult(AttemptVerdict.PERMANENT, reason=f"{summary}: redirects are not followed")
    return AttemptResult(AttemptVerdict.PERMANENT, reason=summary)


def _new_lane(
    destination: WebhookDestination,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    jitter: Callable[[], float],
) -> _Lane:
    return _Lane(destination, *guarded_retrier(destination.name, destination, clock=clock, sleep=sleep, jitter=jitter))
