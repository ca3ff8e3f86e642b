"""Squall with no cloud: SQLite store, the Marketing Cloud stub, the real pipeline.

``squall demo`` and ``squall run`` both go through ``run_local``: rules loaded from a folder into
SQLite, events cut into Event Hub-sized batches and handed to ``shared.pipeline.process_batch``
exactly as the Function does, actions delivered over real HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from shared.events.models import RawEvent
from shared.events.options import SourceOption
from shared.pipeline import BatchRetryRequired, PipelineDeps, fire_due_deadlines, process_batch
from shared.pipeline.report import BatchReport
from shared.rules import compile_ruleset, load_rule_files, validate_rules
from shared.settings import Settings
from shared.store.sqlite import SqliteStore
from shared.wiring import open_pipeline
from squall.stub import MarketingCloudStub

#: Events per process_batch call, like the Function's maxEventBatchSize in host.json.
BATCH_SIZE = 100
#: Partitions the local runtime spreads events over, like the default hub in infra/.
PARTITIONS = 32
#: Partitions processed at once, like a few host instances sharing the hub.
PARTITION_CONCURRENCY = 8
LOCAL_CLIENT_ID = "squall-local"
#: Like host.json's retry policy, bounded: the local runtime gives up after this many attempts.
HOST_RETRY_ATTEMPTS = 20
HOST_RETRY_MAX_WAIT_S = 5.0
#: Delivery tuning against the in-process stub (Azure uses MarketingCloudConfig's defaults).
LOCAL_STUB_DELIVERY = {"backoff_base_s": 0.02, "backoff_max_s": 2.0, "max_concurrency": 32}


@dataclass(frozen=True, slots=True)
class StubFaults:
    """Faults the local Marketing Cloud stub injects (see ``squall stub --help``)."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    latency_ms: int = 0
    token_ttl_s: float = 1200.0
    seed: int | None = None


class InvalidRules(ValueError):
    """The rule folder holds invalid rules; ``errors`` lists them."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} invalid rule(s): " + "; ".join(errors[:5]))
        self.errors = errors


@dataclass(slots=True)
class LocalRunResult:
    report: BatchReport
    stub_received: int | None
    stub_duplicates: int | None
    batches: int

    def as_dict(self) -> dict[str, object]:
        data = self.report.as_dict()
        data["stub_received"] = self.stub_received
        data["stub_duplicates"] = self.stub_duplicates
        data["batches"] = self.batches
        return data


def partition_for(key: str | None, partitions: int = PARTITIONS) -> str:
    """Stable partition for a partition key, as a sender using the entity key would get."""
    return str(zlib.crc32((key or "").encode()) % partitions)


def batch_raw_events(
    bodies: Iterable[tuple[bytes, str | None]], *, batch_size: int = BATCH_SIZE, first_sequence: int | None = None
) -> Iterator[list[RawEvent]]:
    """Cut (body, partition key) pairs into hub-like batches: each batch holds one partition's
    events in sequence order, as the Event Hubs trigger delivers them."""
    # Like a hub's, sequence numbers keep growing from one run to the next (microseconds since the
    # epoch at the start of the run), so state kept in a --store never mistakes a new event for one
    # an earlier run already applied (the pipeline's per-partition replay guard).
    first = time.time_ns() // 1_000 if first_sequence is None else first_sequence
    sequence: dict[str, int] = {}
    pending: dict[str, list[RawEvent]] = {}
    for body, key in bodies:
        partition = partition_for(key)
        number = sequence[partition] = sequence.get(partition, first - 1) + 1
        batch = pending.setdefault(partition, [])
        batch.append(
            RawEvent(
                body=body,
                partition=partition,
                partition_key=key,
                sequence_number=number,
                offset=str(number),
                enqueued_time=datetime.now(UTC),
            )
        )
        if len(batch) >= batch_size:
            yield pending.pop(partition)
    yield from pending.values()


def load_rules(rules_dir: Path) -> list[dict]:
    raw = load_rule_files(rules_dir)
    checked = validate_rules(raw)
    if checked.errors:
        raise InvalidRules([f"{e.rule_id} {e.path}: {e.message}" for e in checked.errors])
    return raw


async def run_local(
    batches: Iterable[list[RawEvent]],
    *,
    rules_dir: Path,
    sfmc_url: str | None = None,
    settings: Settings | None = None,
    store_path: Path | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
    source: SourceOption | None = None,
    stub_faults: StubFaults | None = None,
) -> LocalRunResult:
    """Run batches through the real pipeline against SQLite and the stub (or ``sfmc_url``)."""
    rules = load_rules(rules_dir)
    keys = compile_ruleset(validate_rules(rules).rules).event_definition_keys
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="squall-")))
        db_path = store_path or workdir / "squall.db"
        stub = None
        base = dict(settings.model_dump(by_alias=True)) if settings else {}
        base["SQUALL_STORE"] = f"sqlite:{db_path}"
        if sfmc_url is None:
            secret = secrets.token_urlsafe(24)  # a throwaway credential for the local stub only
            stub = stack.enter_context(
                MarketingCloudStub(
                    event_definition_keys=set(keys),
                    client_id=LOCAL_CLIENT_ID,
                    client_secret=secret,
                    **dataclasses.asdict(stub_faults or StubFaults()),
                )
            )
            base.update(
                SFMC_AUTH_BASE_URL=stub.auth_base_url,
                SFMC_REST_BASE_URL=stub.rest_base_url,
                SFMC_CLIENT_ID=LOCAL_CLIENT_ID,
                SFMC_CLIENT_SECRET=secret,
            )
        else:
            base.update(SFMC_AUTH_BASE_URL=sfmc_url, SFMC_REST_BASE_URL=sfmc_url)
        run_settings = Settings(**{k: v for k, v in base.items() if v is not None})
        report, count = await _run_batches(
            batches, rules, run_settings, db_path, on_batch, source, quick_retries=stub is not None
        )
        received = len(stub.received()) if stub is not None else None
        duplicates = stub.duplicates() if stub is not None else None
        return LocalRunResult(report=report, stub_received=received, stub_duplicates=duplicates, batches=count)


async def _process_like_the_host(
    batch: list[RawEvent], deps: PipelineDeps, total: BatchReport, source: SourceOption | None = None
) -> BatchReport:
    """Replay a batch whose destination was down, as the Function's retry policy does."""
    for attempt in range(1, HOST_RETRY_ATTEMPTS + 1):
        try:
            return await process_batch(batch, deps, source=source)
        except BatchRetryRequired as retry:
            if retry.report is not None:
                total += retry.report
            if attempt == HOST_RETRY_ATTEMPTS:
                raise
            await asyncio.sleep(min(retry.retry_after or 0.2 * attempt, HOST_RETRY_MAX_WAIT_S))
    raise AssertionError("unreachable")  # pragma: no cover


async def _run_partitions_concurrently(
    batches: Iterable[list[RawEvent]],
    deps: PipelineDeps,
    total: BatchReport,
    source: SourceOption | None,
    on_batch: Callable[[BatchReport], None] | None,
) -> int:
    """Like host instances owning partitions: each partition's batches run in order, up to
    PARTITION_CONCURRENCY partitions at once; deadlines fire on an event-time clock."""
    queues: dict[str, asyncio.Queue[list[RawEvent] | None]] = {}
    workers: list[asyncio.Task[None]] = []
    slots = asyncio.Semaphore(PARTITION_CONCURRENCY)
    clock = EventTimeClock(deps)
    count = 0

    async def own_partition(partition: str, queue: asyncio.Queue[list[RawEvent] | None]) -> None:
        while (batch := await queue.get()) is not None:
            async with slots:
                report = await _process_like_the_host(batch, deps, total, source)
            total.__iadd__(report)
            total.__iadd__(await clock.advance(partition, report.latest_event_time))
            if on_batch is not None:
                on_batch(report)

    for batch in batches:
        partition = batch[0].partition or "0"
        if partition not in queues:
            queues[partition] = asyncio.Queue(maxsize=4)  # backpressure on the generator
            workers.append(asyncio.create_task(own_partition(partition, queues[partition])))
        await queues[partition].put(batch)
        count += 1
    for queue in queues.values():
        await queue.put(None)
    await asyncio.gather(*workers)
    total.__iadd__(await clock.finish())
    return count


class EventTimeClock:
    """The local runtime's clock: event time, as a watermark over partitions.

    Deadlines (absence rules) fire when the slowest partition's newest event has passed them, so a
    "B" still waiting in another partition's queue is not missed; when the input ends, time has
    reached the newest event of all.
    """

    def __init__(self, deps: PipelineDeps) -> None:
        self._deps = deps
        self._latest: dict[str, datetime] = {}
        self._fired_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def advance(self, partition: str, latest: datetime | None) -> BatchReport:
        if latest is not None and latest > self._latest.get(partition, latest.min.replace(tzinfo=UTC)):
            self._latest[partition] = latest
        return await self._fire(min(self._latest.values(), default=None))

    async def finish(self) -> BatchReport:
        return await self._fire(max(self._latest.values(), default=None))

    async def _fire(self, now: datetime | None) -> BatchReport:
        async with self._lock:
            if now is None or (self._fired_at is not None and now <= self._fired_at):
                return BatchReport()
            self._fired_at = now
            return await fire_due_deadlines(self._deps, now=now)


async def _run_batches(
    batches: Iterable[list[RawEvent]],
    rules: list[dict],
    settings: Settings,
    db_path: Path,
    on_batch: Callable[[BatchReport], None] | None,
    source: SourceOption | None,
    *,
    quick_retries: bool,
) -> tuple[BatchReport, int]:
    seed_store = SqliteStore(db_path)
    await seed_store.rules.save_ruleset(settings.ruleset, rules)
    await seed_store.close()
    sender = None
    if quick_retries:  # the local stub answers in microseconds: retry it quickly too
        config = MarketingCloudConfig.from_settings(settings).model_copy(update=LOCAL_STUB_DELIVERY)
        sender = await MarketingCloudDeliverer(config).__aenter__()
    pipeline = await open_pipeline(settings, sender=sender)
    if sender is not None:
        pipeline.exit_stack.push_async_exit(sender.__aexit__)
    total = BatchReport()
    started = time.perf_counter()
    try:
        count = await _run_partitions_concurrently(batches, pipeline.deps, total, source, on_batch)
    finally:
        await pipeline.aclose()
    total.elapsed_s = time.perf_counter() - started
    return total, count
