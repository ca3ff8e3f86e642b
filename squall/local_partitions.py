"""The local runtime's host: partitions processed like host instances own them, the outbox relayed
beside them, and time kept like the timer keeps it.

- Each partition's batches run in order, up to ``PARTITION_CONCURRENCY`` partitions at once. They
  never wait on a destination: the batches write the outbox, and ``LocalRelay`` (a task beside
  them, as the change feed is in Azure) delivers it. While a destination is down the relay backs
  off and the backlog grows; after ``attempts`` failures in a row it stops trying, ingestion still
  completes, and the run ends with ``DestinationDown`` and the backlog (the next run delivers it).
- Deadlines (absence rules) fire on an event-time clock: the slowest partition's newest event; at
  the end of the input, the clock runs on by the longest absence wait (``within`` + lateness) past
  the newest event — the policy of ``squall rules test`` — so every deadline the input armed is
  decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from shared.events.models import RawEvent
from shared.events.options import SourceOption
from shared.pipeline import BatchRetryRequired, PipelineDeps, fire_due_deadlines, process_batch, retry_pending_outbox
from shared.pipeline.dry_run import longest_wait
from shared.pipeline.report import BatchReport
from squall.local_input import PARTITIONS

#: Partitions processed at once, like a few host instances sharing the hub.
PARTITION_CONCURRENCY = 8
#: Like host.json's retry policy, bounded: the local runtime gives up after this many attempts.
HOST_RETRY_ATTEMPTS = 20
HOST_RETRY_MAX_WAIT_S = 5.0
#: Outbox entries and due entities handled per store call.
SCHEDULED_LIMIT = 500
#: How long the relay waits for new outbox entries when it found none.
RELAY_IDLE_S = 0.05
#: The relay sends once this many actions wait (a full async journey request) ...
RELAY_FILL = 100
#: ... or once the oldest has waited this long.
RELAY_LINGER_S = 0.25
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


class DestinationDown(RuntimeError):
    """A destination stayed down through every replay of a batch: the run stopped early.

    ``report`` holds what was done; the undelivered actions wait in the store's outbox, and the next
    run on the same store delivers them.
    """

    def __init__(self, message: str, report: BatchReport) -> None:
        super().__init__(message)
        self.report = report


async def like_the_host(
    attempt: Callable[[], Awaitable[BatchReport]], total: BatchReport, *, attempts: int = HOST_RETRY_ATTEMPTS
) -> BatchReport:
    """Run ``attempt`` again while the destination is down for everyone, as the host's retry policy
    would; each failed attempt's counts go to ``total``. Gives up with ``BatchRetryRequired``."""
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except BatchRetryRequired as retry:
            if retry.report is not None:
                total += retry.report
            if number == attempts:
                raise
            await asyncio.sleep(min(retry.retry_after or 0.2 * number, HOST_RETRY_MAX_WAIT_S))
    raise AssertionError("unreachable")  # pragma: no cover


class LocalRelay:
    """The outbox relay of a local run: delivers whatever the outbox holds — once it fills a request
    (``RELAY_FILL`` actions) or its oldest entry has waited ``RELAY_LINGER_S`` — until ``finish()``
    finds it empty (or the destination stayed down for ``attempts`` tries in a row)."""

    def __init__(self, deps: PipelineDeps, total: BatchReport, *, attempts: int = HOST_RETRY_ATTEMPTS) -> None:
        self._deps = deps
        self._total = total
        self._attempts = attempts
        self._started = datetime.now(UTC)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.gave_up: BatchRetryRequired | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def _worth_a_request(self) -> bool:
        """Enough waits for a full request (async journeys take 100 contacts), or it has waited long."""
        count, oldest = await self._deps.states.outbox_backlog()
        if count >= RELAY_FILL:
            return True
        return count > 0 and oldest is not None and datetime.now(UTC) - oldest >= timedelta(seconds=RELAY_LINGER_S)

    async def finish(self) -> None:
        """Deliver what is left, then stop (raises what made the relay stop, if anything did)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            if not self._stopping and not await self._worth_a_request():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=RELAY_IDLE_S)
                continue
            try:
                report = await retry_pending_outbox(
                    self._deps, now=datetime.now(UTC), limit=SCHEDULED_LIMIT, grace=timedelta(0),
                    uncertain_before=self._started,
                )  # fmt: skip
            except BatchRetryRequired as retry:
                self._total += retry.report or BatchReport()
                failures += 1
                if failures >= self._attempts:
                    self.gave_up = retry
                    return
                await asyncio.sleep(min(retry.retry_after or 0.2 * failures, HOST_RETRY_MAX_WAIT_S))
                continue
            failures = 0
            if report.actions_recovered == 0:
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=RELAY_IDLE_S)
                continue
            self._total += report


async def run_partitions(
    batches: Iterable[list[RawEvent]],
    deps: PipelineDeps,
    total: BatchReport,
    source: SourceOption | None,
    on_batch: Callable[[BatchReport], None] | None,
    *,
    attempts: int = HOST_RETRY_ATTEMPTS,
    relay: LocalRelay | None = None,
) -> int:
    """Process every batch (partitions concurrently, each in order); the number of batches.

    When a batch's destination stays down, the other partitions finish the batch they hold, no new
    batch starts, and ``BatchRetryRequired`` is raised after them."""
    queues: dict[str, asyncio.Queue[list[RawEvent] | None]] = {}
    workers: list[asyncio.Task[None]] = []
    slots = asyncio.Semaphore(PARTITION_CONCURRENCY)
    clock = EventTimeClock(deps, total)
    given_up: list[BatchRetryRequired] = []
    count = 0

    async def own_partition(queue: asyncio.Queue[list[RawEvent] | None]) -> None:
        partition: str | None = None
        while (batch := await queue.get()) is not None:
            if given_up:
                continue  # drain the queue without processing: the run is stopping
            partition = batch[0].partition or "0"
            async with slots:
                try:
                    report = await like_the_host(
                        functools.partial(process_batch, batch, deps, source=source), total, attempts=attempts
                    )
                except BatchRetryRequired as exc:
                    given_up.append(exc)
                    continue
            total.__iadd__(report)
            if relay is not None and report.actions_planned:
                relay.wake()
            await clock.advance(partition, report.latest_event_time)
            if on_batch is not None:
                on_batch(report)

    for batch in batches:
        if given_up:
            break
        partition = batch[0].partition or "0"
        if partition not in queues:
            queues[partition] = asyncio.Queue(maxsize=4)  # backpressure on the generator
            workers.append(asyncio.create_task(own_partition(queues[partition])))
        await queues[partition].put(batch)
        count += 1
    for queue in queues.values():
        await queue.put(None)
    await asyncio.gather(*workers)
    if given_up:
        raise given_up[0]
    await clock.finish()
    return count


async def deadlines_pending(deps: PipelineDeps) -> int:
    """Entities that still wait for a deadline (the report's ``deadlines_pending``)."""
    return len(await deps.states.due_entities(_END_OF_TIME, limit=1_000_000))


class EventTimeClock:
    """The local runtime's clock: event time, as a watermark over partitions.

    Deadlines fire when the slowest partition's newest event has passed them, so a "B" still waiting
    in another partition's queue is not missed — and not before every partition of the input has
    reported once (``partitions``): a partition not heard from yet may hold anything. When the input
    ends, time runs on to the newest event of all plus the longest absence wait. What fires is added
    to ``total``.
    """

    def __init__(self, deps: PipelineDeps, total: BatchReport, *, partitions: int = PARTITIONS) -> None:
        self._deps = deps
        self._partitions = partitions
        self._total = total
        self._latest: dict[str, datetime] = {}
        self._fired_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def advance(self, partition: str, latest: datetime | None) -> None:
        if latest is not None and latest > self._latest.get(partition, latest.min.replace(tzinfo=UTC)):
            self._latest[partition] = latest
        if len(self._latest) >= self._partitions:
            await self._fire(min(self._latest.values()))

    async def finish(self) -> None:
        newest = max(self._latest.values(), default=None)
        if newest is None:
            return
        ruleset = await self._deps.rules.current()
        await self._fire(newest + longest_wait(rule.definition for rule in ruleset.rules))

    async def _fire(self, now: datetime | None) -> None:
        async with self._lock:
            if now is None or (self._fired_at is not None and now <= self._fired_at):
                return
            self._fired_at = now
            # every page of due entities, until none is left (the relay delivers what they plan)
            self._total += await fire_due_deadlines(self._deps, now=now, limit=SCHEDULED_LIMIT, budget_s=float("inf"))
