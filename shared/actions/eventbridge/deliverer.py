"""Deliver actions to Amazon EventBridge: ``PutEvents`` calls of at most 10 entries and 256 KB.

One boto3 ``events`` client per destination (region, endpoint), credentials from the standard AWS
chain; botocore's own retries are off, so retries, backoff, ``Retry-After``-less throttling and the
circuit breaker follow the same rules as every other destination (``retrying.py``). A call is one
delivery: a retry sends again only the entries that failed retryably (``ThrottlingException``,
``InternalFailure``); entries refused for good fail at once with EventBridge's ``ErrorCode``. The
SDK is synchronous, so each call runs in a worker thread, at most ``max_concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.actions.breaker import CircuitBreaker
from shared.actions.eventbridge.answers import classify_call_error, entry_failure, entry_reason
from shared.actions.eventbridge.config import EventBridgeDestination
from shared.actions.eventbridge.entries import MAX_REQUEST_BYTES, calls_of, entry_size, put_events_entry
from shared.actions.models import DeliveryOutcome, DeliveryStatus, FailureKind, PlannedAction
from shared.actions.outcomes import failed, in_action_order, log_summary, logged, raise_if_destination_down
from shared.actions.ports import SendingCallback, SettledCallback
from shared.actions.retrying import AttemptResult, AttemptVerdict, Retrier, circuit_open_reason, guarded_retrier

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name
_WHAT = "eventbridge event"


class EventsClient(Protocol):
    """What Squall calls on boto3's ``events`` client (a fake in unit tests)."""

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]: ...  # noqa: N803 (boto3's name)


ClientFactory = Callable[[EventBridgeDestination], EventsClient]


def boto3_client(destination: EventBridgeDestination) -> EventsClient:
    """boto3's ``events`` client for ``destination``, its own retries off (ours apply)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 1},
        connect_timeout=destination.timeout_s,
        read_timeout=destination.timeout_s,
        max_pool_connections=destination.max_concurrency,
    )
    client: EventsClient = boto3.session.Session().client(
        "events", region_name=destination.region, endpoint_url=destination.endpoint_url, config=config
    )
    return client


class _Lane:
    """One destination: its client, limiter, retrier and breaker."""

    def __init__(
        self, destination: EventBridgeDestination, client: EventsClient, guard: tuple[Retrier, CircuitBreaker]
    ):
        self.destination = destination
        self.client = client
        self.retrier, self.breaker = guard
        self.slots = asyncio.Semaphore(destination.max_concurrency)


class EventBridgeDeliverer:
    """``async with EventBridgeDeliverer(destinations) as d: outcomes = await d.deliver(actions)``."""

    def __init__(
        self,
        destinations: Mapping[str, EventBridgeDestination],
        *,
        client_factory: ClientFactory = boto3_client,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes = {
            name: _Lane(d, client_factory(d), guarded_retrier(name, d, clock=clock, sleep=sleep, jitter=jitter))
            for name, d in destinations.items()
        }

    @property
    def destinations(self) -> frozenset[str]:
        return frozenset(self._lanes)

    async def __aenter__(self) -> EventBridgeDeliverer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for lane in self._lanes.values():
            close = getattr(lane.client, "close", None)
            if close is not None:
                close()

    async def deliver(
        self,
        actions: Sequence[PlannedAction],
        *,
        on_sending: SendingCallback | None = None,
        on_settled: SettledCallback | None = None,
    ) -> list[DeliveryOutcome]:
        """One outcome per action, in order; raises ``DestinationUnavailable`` (every outcome on it)
        when a bus's breaker is open at the end and some of its actions failed retryably."""
        self._follow_running_loop()
        outcomes: list[DeliveryOutcome | None] = [None] * len(actions)
        units: list[tuple[_Lane, list[int], list[dict[str, Any]]]] = []
        by_destination: dict[str, list[int]] = {}
        for index, action in enumerate(actions):
            by_destination.setdefault(action.destination, []).append(index)
        for name, indexes in by_destination.items():
            units += self._calls(name, actions, indexes, outcomes)
        results = await asyncio.gather(
            *(
                self._send_call(lane, [actions[i] for i in idx], entries, on_sending, on_settled)
                for lane, idx, entries in units
            )
        )
        settled = in_action_order(outcomes, [indexes for _, indexes, _ in units], results)
        log_summary("EventBridge", settled)
        for name in by_destination:
            if (lane := self._lanes.get(name)) is not None:
                raise_if_destination_down(lane.breaker, settled)
        return settled

    def _calls(
        self, name: str, actions: Sequence[PlannedAction], indexes: list[int], outcomes: list[DeliveryOutcome | None]
    ) -> list[tuple[_Lane, list[int], list[dict[str, Any]]]]:
        """The ``PutEvents`` calls for one destination; actions that cannot be sent get their outcome."""
        lane = self._lanes.get(name)
        sendable: list[tuple[int, dict[str, Any], int]] = []
        for index in indexes:
            action = actions[index]
            problem, entry = _entry_of(action, lane)
            if problem is not None or entry is None:
                outcomes[index] = failed(action, FailureKind.UNSUPPORTED, problem, attempts=0, what=_WHAT)
                continue
            sendable.append((index, entry, entry_size(entry)))
        if lane is None:
            return []
        calls = calls_of([size for _, _, size in sendable])
        return [(lane, [sendable[i][0] for i in call], [sendable[i][1] for i in call]) for call in calls]

    async def _send_call(
        self,
        lane: _Lane,
        actions: list[PlannedAction],
        entries: list[dict[str, Any]],
        on_sending: SendingCallback | None,
        on_settled: SettledCallback | None,
    ) -> list[DeliveryOutcome]:
        async with lane.slots, lane.breaker.admission() as admitted:
            if not admitted:
                reason = circuit_open_reason(lane.breaker)
                return [failed(a, FailureKind.CIRCUIT_OPEN, reason, attempts=0, what=_WHAT) for a in actions]
            if on_sending is not None:
                await on_sending(actions)
            call = _Call(lane.client, entries)
            settlement = await lane.retrier.settle(
                call.attempt, label=f"PutEvents of {len(entries)} (first action {actions[0].key})"
            )
        outcomes = []
        for index, action in enumerate(actions):
            if index in call.delivered:
                outcome = DeliveryOutcome(
                    action, DeliveryStatus.DELIVERED, settlement.attempts, response_id=call.delivered[index]
                )
                outcomes.append(logged(outcome, what=_WHAT))
            elif index in call.refused:
                failure, reason = call.refused[index]
                outcomes.append(failed(action, failure, reason, attempts=settlement.attempts, what=_WHAT))
            else:
                failure = settlement.failure or FailureKind.TRANSIENT
                outcomes.append(failed(action, failure, settlement.reason, attempts=settlement.attempts, what=_WHAT))
        if on_settled is not None:
            await on_settled(outcomes)
        return outcomes

    def _follow_running_loop(self) -> None:
        """New limiters when called from a new event loop (e.g. successive asyncio.run)."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            for lane in self._lanes.values():
                lane.slots = asyncio.Semaphore(lane.destination.max_concurrency)
                lane.breaker.forget_probe()
        self._loop = loop


class _Call:
    """One ``PutEvents`` delivery across its attempts: which entries landed, which were refused."""

    def __init__(self, client: EventsClient, entries: list[dict[str, Any]]) -> None:
        self._client = client
        self._entries = entries
        self.pending = list(range(len(entries)))
        self.delivered: dict[int, str | None] = {}
        self.refused: dict[int, tuple[FailureKind, str]] = {}

    async def attempt(self) -> AttemptResult:
        batch = [self._entries[i] for i in self.pending]
        try:
            answer = await asyncio.to_thread(self._client.put_events, Entries=batch)
        except (BotoCoreError, ClientError) as exc:  # the SDK's errors, classified in answers.py
            return classify_call_error(exc)
        results = answer.get("Entries") or []
        if len(results) != len(batch):
            if not answer.get("FailedEntryCount"):
                self.delivered.update((i, None) for i in self.pending)
                self.pending = []
                return AttemptResult(AttemptVerdict.DELIVERED)
            return AttemptResult(AttemptVerdict.PERMANENT, reason="EventBridge answered without one result per entry")
        retry, reasons, throttled = [], [], True
        for index, result in zip(self.pending, results, strict=True):
            code = result.get("ErrorCode")
            if not code:
                self.delivered[index] = result.get("EventId")
                continue
            failure = entry_failure(code)
            if failure is None:
                retry.append(index)
                reasons.append(entry_reason(result))
                throttled = throttled and "Throttl" in code
            else:
                self.refused[index] = (failure, entry_reason(result))
        self.pending = retry
        if retry:
            reason = f"{len(retry)} of {len(batch)} entries failed: {reasons[0]}"
            return AttemptResult(AttemptVerdict.RETRY, reason=reason, throttled=throttled)
        return AttemptResult(AttemptVerdict.DELIVERED)


def _entry_of(action: PlannedAction, lane: _Lane | None) -> tuple[str | None, dict[str, Any] | None]:
    """The action's entry, or why it cannot be sent (no such bus, not an event, not JSON, too big)."""
    if lane is None:
        return f"no EventBridge destination named {action.destination!r} is configured (SQUALL_EVENTBRIDGE)", None
    if not action.detail_type:
        return "eventbridge action without detail_type", None
    try:
        entry = put_events_entry(action, lane.destination)
    except (TypeError, ValueError) as exc:
        return f"Detail is not JSON: {exc}", None
    size = entry_size(entry)
    if size > MAX_REQUEST_BYTES:
        return f"the event is {size} bytes, over EventBridge's limit of {MAX_REQUEST_BYTES} bytes per call", None
    return None, entry
