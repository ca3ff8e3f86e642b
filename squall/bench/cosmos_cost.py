"""``squall bench --store cosmos``: what the real Function handler costs in Cosmos DB, request by request.

The app's own functions (``function_app.py``) run against the local Cosmos DB protocol server
(``local_cosmos``), which logs every request it answers; the Marketing Cloud stub takes the
actions. Synthetic Office 365 records are cut into a hub of ``partitions`` partitions (keyed by
entity, as ``squall send`` keys them) and handed to ``process_usage_events`` in batches of
``batch``; after each batch its outbox document goes to ``deliver_outbox`` as the change feed
would hand it over; at the end the timer (``run_scheduled_work``) fires the deadlines that fell
due and retries what is left. Each logged request is priced with ``cost_model`` and put down to a
cause (container and operation), and the totals are divided by the events: RU per event in
requests, and with the TTL expiry of what the run left to expire and the fan-out of cross-
partition queries at the scale of a billion events a day.

A second measure (``ingest_latency``) times ingestion alone with a store latency injected into
every request, at two destination latencies: the relay runs beside it, so ingestion must not slow
down when the destination does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from squall.bench.cost_model import Request, physical_partitions, write_ru
from squall.bench.hub import event_hub_events, partitioned
from squall.bench.local_cosmos import ROOT, LocalCosmosServer, start_local_cosmos_server
from squall.function_index import indexed_functions

#: A billion events a day, at three times the average rate at peak.
DAILY_EVENTS = 1_000_000_000
PEAK_FACTOR = 3
SECONDS_PER_DAY = 86_400
#: Cause of a request: (container, kind) -> what Squall does with it.
CAUSES = {
    ("state", "read"): "state read",
    ("state", "batch"): "state write",
    ("state", "query"): "due deadlines query",
    ("outbox", "create"): "outbox document written",
    ("outbox", "read"): "outbox document read (to update it)",
    ("outbox", "replace"): "outbox document updated (in flight, settled, merged)",
    ("outbox", "query"): "outbox queries (timer, backlog)",
    ("rules", "read"): "rule set read",
    ("rules", "query"): "rule set version check",
    ("dedupe", "query"): "dead-letter keys looked up",
    ("dedupe", "create"): "dead-letter keys remembered",
}


@dataclass(frozen=True, slots=True)
class CostConfig:
    events: int = 20_000
    batch: int = 100
    partitions: int = 32
    seed: int = 0
    rules_dir: Path = ROOT / "rules"
    journey_mode: str = "async"


@dataclass(slots=True)
class CostReport:
    events: int
    matches: int
    actions: int
    delivered: int
    batches: int
    seconds: float
    requests: list[Request] = field(default_factory=list)
    phases: dict[str, int] = field(default_factory=dict)  # state/outbox/dedupe requests by phase
    expiring: list[int] = field(default_factory=list)  # sizes of the items the run leaves to expire

    def as_dict(self) -> dict[str, Any]:
        peak_ru_s = 0.0
        by_cause: dict[str, dict[str, float]] = defaultdict(lambda: {"requests": 0, "ru": 0.0})
        for request in self.requests:
            if request.kind == "metadata":
                continue
            cause = CAUSES.get((request.container or "", request.kind), f"{request.container} {request.kind}")
            by_cause[cause]["requests"] += 1
            by_cause[cause]["ru"] += request.ru()
        feed = [r for r in self.requests if r.container == "outbox" and r.kind in ("create", "replace")]
        by_cause["change feed reads (modelled)"] = {
            "requests": len(feed),
            "ru": sum(_feed_read_ru(r.request_bytes) for r in feed),
        }
        per_event = {cause: round(v["ru"] / self.events, 3) for cause, v in by_cause.items()}
        in_requests = sum(v["ru"] for v in by_cause.values())
        expiry = sum(write_ru(size) for size in self.expiring)
        peak_ru_s = (in_requests + expiry) / self.events * DAILY_EVENTS / SECONDS_PER_DAY * PEAK_FACTOR
        fan_out = physical_partitions(peak_ru_s)
        queries = [r for r in self.requests if r.kind == "query"]
        fan_out_extra = sum(r.ru(fan_out=fan_out) - r.ru() for r in queries)
        with_expiry = in_requests + expiry + fan_out_extra
        return {
            "events": self.events,
            "matches": self.matches,
            "actions": self.actions,
            "delivered": self.delivered,
            "batches": self.batches,
            "requests": sum(int(v["requests"]) for c, v in by_cause.items() if "modelled" not in c),
            "requests_per_event": round(
                sum(int(v["requests"]) for c, v in by_cause.items() if "modelled" not in c) / self.events, 4
            ),
            "ru_per_event_requests": round(in_requests / self.events, 3),
            "ru_per_event_with_expiry_and_fan_out": round(with_expiry / self.events, 3),
            "expiring_items": len(self.expiring),
            "fan_out_partitions": fan_out,
            "ru_per_event_by_cause": dict(sorted(per_event.items(), key=lambda kv: -kv[1])),
            "requests_by_cause": {cause: int(v["requests"]) for cause, v in by_cause.items()},
            "store_requests_by_phase": dict(self.phases),
            "seconds": round(self.seconds, 2),
        }


def _feed_read_ru(size_bytes: int) -> float:
    from squall.bench.cost_model import read_ru

    return read_ru(size_bytes)


def synthetic_hub(config: CostConfig) -> dict[str, list[tuple[int, bytes]]]:
    from squall.synthetic import generate_o365_bytes

    lines = list(generate_o365_bytes(config.events, seed=config.seed))
    hub = partitioned(lines, identity="cost")
    # partition_for spreads keys over the local runtime's 32 partitions; fold them onto the hub's
    folded: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for name, records in hub.items():
        index = int(name.rsplit("/", 1)[1]) % config.partitions
        folded[str(index)].extend(records)
    return {name: sorted(records) for name, records in folded.items()}


@contextmanager
def app_on_local_cosmos(
    server: LocalCosmosServer,
    stub_urls: tuple[str, str],
    *,
    journey_mode: str,
    destinations: dict[str, str] | None = None,
) -> Iterator[None]:
    """The Function App's settings pointed at the local server and the local receivers (as app
    settings are); ``destinations``: the webhook and EventBridge settings of ``local_receivers``."""
    from shared.settings import get_settings

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # function_app.py and functions/ live in the clone
    settings = {
        "SQUALL_STORE": "cosmos", "COSMOS_ENDPOINT": server.endpoint, "COSMOS_KEY": server.key,
        "COSMOS_DATABASE": f"cost-{uuid.uuid4().hex[:8]}", "COSMOS_CREATE_CONTAINERS": "true",
        "SFMC_AUTH_BASE_URL": stub_urls[0], "SFMC_REST_BASE_URL": stub_urls[1],
        "SFMC_CLIENT_ID": "squall-bench", "SFMC_CLIENT_SECRET": "bench-only-not-a-secret",
        "SFMC_JOURNEY_ENTRY_MODE": journey_mode,
        "SQUALL_MAX_CLOCK_SKEW": "P36525D",  # synthetic event times are not the hub's enqueued times
        **(destinations or {}),
    }  # fmt: skip
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


async def _push_rules(rules_dir: Path) -> None:
    from functions.dependencies import get_store
    from shared.rules_admin import RuleSetAdmin
    from shared.settings import get_settings
    from squall.local_runtime import load_rules

    store = await get_store()
    await RuleSetAdmin(store.rules, get_settings().ruleset).replace_rules(load_rules(rules_dir))


async def _outbox_documents(batch: str) -> list[dict[str, Any]]:
    """The batch's outbox document as the change feed hands it over (read outside the log's count)."""
    from functions.dependencies import get_store
    from shared.store import outbox_docs

    store = await get_store()
    entries = await store.states.pending_outbox(limit=100_000, batch=batch)
    return outbox_docs.as_documents(entries, now=datetime.now(UTC))


def app_functions() -> dict[str, Any]:
    """The handlers the worker calls, by function name."""
    return {name: f.get_user_function() for name, f in indexed_functions().items()}


class RequestLog:
    """The launcher's request log, read from an offset; ``pause()`` drops what the bench itself asks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept: list[Request] = []
        self.phases: Counter[str] = Counter()  # requests to the containers by phase: ingest, relay, timer
        self._offset = 0

    def take(self) -> list[Request]:
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            data = stream.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        return [_request(json.loads(line)) for line in data[:end].splitlines() if line.strip()]

    def keep(self, phase: str) -> None:
        taken = [r for r in self.take() if r.kind != "metadata"]
        self.kept += taken
        self.phases[phase] += sum(r.container not in ("rules", None) for r in taken)

    def drop(self) -> None:
        self.take()


def _request(line: dict[str, Any]) -> Request:
    return Request(
        method=line["m"], path=line["u"], status=int(line["s"]), request_bytes=int(line["req"]),
        response_bytes=int(line["res"]), query=bool(line["q"]), batch=bool(line["b"]),
    )  # fmt: skip


async def _run(config: CostConfig, log: RequestLog) -> CostReport:
    import azure.functions as func
    from azure.functions.timer import TimerRequest

    from functions import dependencies

    functions = app_functions()
    ingest, relay = functions["process_usage_events"], functions["deliver_outbox"]
    timer = functions["run_scheduled_work"]
    hub = synthetic_hub(config)
    await _push_rules(config.rules_dir)
    await dependencies.get_pipeline()
    log.drop()  # setup: containers, the rule set
    started = time.perf_counter()
    batches = 0
    cursors = dict.fromkeys(hub, 0)
    while any(cursors[p] < len(hub[p]) for p in hub):  # partitions take turns, a batch each
        for partition, records in hub.items():
            start = cursors[partition]
            if start >= len(records):
                continue
            batch = records[start : start + config.batch]
            cursors[partition] = start + len(batch)
            await ingest(event_hub_events(partition, batch))
            batches += 1
            log.keep("ingest")
            documents = await _outbox_documents(f"{partition}:{batch[0][0]}")
            log.drop()
            if documents:
                await relay(func.DocumentList(func.Document.from_dict(d) for d in documents))
            log.keep("relay")
    await timer(TimerRequest(past_due=False))
    log.keep("timer")
    seconds = time.perf_counter() - started
    return CostReport(events=config.events, matches=0, actions=0, delivered=0, batches=batches, seconds=seconds)


@contextmanager
def local_receivers(
    rules_dir: Path, *, latency_ms: int = 0, eventbridge: bool = True
) -> Iterator[tuple[Any, dict[str, str], Any]]:
    """The stub (journeys, rows, webhooks) and, when the rules use it, moto is installed and
    ``eventbridge`` is on, a local EventBridge (once per process: moto keeps its buses); with the
    settings that point the app's destinations at them."""
    from contextlib import ExitStack

    from shared.rules import validate_rules
    from squall.eventbridge_local import LocalEventBridge, moto_available
    from squall.local_destinations import destinations_used, local_destination_settings
    from squall.local_runtime import load_rules
    from squall.stub import MarketingCloudStub

    definitions = validate_rules(load_rules(rules_dir)).rules
    buses = destinations_used(definitions, "eventbridge")
    with ExitStack() as stack:
        stub = stack.enter_context(
            MarketingCloudStub(client_id="squall-bench", client_secret="bench-only-not-a-secret", latency_ms=latency_ms)
        )
        bus = stack.enter_context(LocalEventBridge()) if buses and eventbridge and moto_available() else None
        settings = local_destination_settings(stub, destinations_used(definitions, "webhook"), bus, buses)
        yield stub, settings, bus


def run_cost_bench(config: CostConfig) -> dict[str, Any]:
    from squall.local_destinations import count_receipts

    with tempfile.TemporaryDirectory(prefix="squall-cost-") as workdir:
        log_path = Path(workdir) / "requests.jsonl"
        log_path.touch()
        server = start_local_cosmos_server(env={"SQUALL_COSMOS_REQUEST_LOG": str(log_path)})
        try:
            with (
                local_receivers(config.rules_dir) as (stub, destinations, bus),
                app_on_local_cosmos(
                    server, (stub.auth_base_url, stub.rest_base_url), journey_mode=config.journey_mode,
                    destinations=destinations,
                ),
            ):  # fmt: skip
                log = RequestLog(log_path)
                report = asyncio.run(_run_and_close(config, log))
                report.delivered = count_receipts(stub, bus).total
                report.requests = log.kept
                report.phases = {phase: log.phases[phase] for phase in ("ingest", "relay", "timer")}
                report.expiring = asyncio.run(_expiring_sizes(server))
        finally:
            server.stop()
    return report.as_dict()


class _BatchCounts(logging.Handler):
    """Matches and planned actions, from the handler's own "batch done" log line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.matches = self.planned = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("batch done") and isinstance(record.args, tuple):
            matches, planned = record.args[5], record.args[6]
            self.matches += matches if isinstance(matches, int) else 0
            self.planned += planned if isinstance(planned, int) else 0


async def _run_and_close(config: CostConfig, log: RequestLog) -> CostReport:
    from functions import dependencies

    counts = _BatchCounts()
    ingest_log = logging.getLogger("functions.ingest")
    level = ingest_log.level
    ingest_log.addHandler(counts)
    ingest_log.setLevel(logging.INFO)
    try:
        report = await _run(config, log)
        report.matches, report.actions = counts.matches, counts.planned
        return report
    finally:
        ingest_log.removeHandler(counts)
        ingest_log.setLevel(level)
        await dependencies.close_dependencies()


async def _expiring_sizes(server: LocalCosmosServer) -> list[int]:
    """Sizes of the items the run leaves for TTL to delete: outbox tombstones, dead-letter keys."""
    from azure.cosmos.aio import CosmosClient

    from shared.settings import Settings

    sizes: list[int] = []
    database = os.environ.get("COSMOS_DATABASE") or Settings().cosmos_database
    async with CosmosClient(server.endpoint, credential=server.key, connection_verify=False) as client:
        db = client.get_database_client(database)
        for container, query in (("outbox", "SELECT * FROM c WHERE c.status = 'done'"), ("dedupe", "SELECT * FROM c")):
            proxy = db.get_container_client(container)
            try:
                sizes += [len(json.dumps(item)) async for item in proxy.query_items(query)]
            except Exception:  # noqa: BLE001 - a container the run never created holds nothing to expire
                continue
    return sizes


def counts_by_kind(requests: list[Request]) -> Counter[str]:
    return Counter(f"{r.container}:{r.kind}" for r in requests)


# --- ingestion beside a slow destination -----------------------------------------------------------


def measure_ingest(
    config: CostConfig, *, store_latency_ms: int = 5, destination_latencies_ms: tuple[int, ...] = (10, 500)
) -> dict[str, Any]:
    """Ingest events/s of one partition (every batch in order, as one host instance runs it) with
    ``store_latency_ms`` added to every Cosmos DB request, at each destination latency; the relay
    delivers beside it in a process of its own (``relay_loop``), as the change-feed function runs
    on instances of its own on Flex Consumption."""
    rates: dict[str, float] = {}
    one_partition = CostConfig(
        events=config.events, batch=config.batch, partitions=1, seed=config.seed,
        rules_dir=config.rules_dir, journey_mode=config.journey_mode,
    )  # fmt: skip
    for latency in destination_latencies_ms:
        server = start_local_cosmos_server(env={"SQUALL_COSMOS_LATENCY_MS": str(store_latency_ms)})
        try:
            with (
                local_receivers(config.rules_dir, latency_ms=latency, eventbridge=False) as (stub, destinations, _),
                app_on_local_cosmos(
                    server, (stub.auth_base_url, stub.rest_base_url), journey_mode=config.journey_mode,
                    destinations=destinations,
                ),
            ):  # fmt: skip
                rates[str(latency)] = asyncio.run(_ingest_rate(one_partition))
        finally:
            server.stop()
    slowest, fastest = min(rates.values()), max(rates.values())
    return {
        "store_latency_ms": store_latency_ms,
        "ingest_events_per_s_per_partition": {f"destination_{ms}ms": round(rate, 1) for ms, rate in rates.items()},
        "ingest_change_pct": round(100 * (fastest - slowest) / fastest, 1),
    }


async def _ingest_rate(config: CostConfig) -> float:
    import subprocess

    from functions import dependencies

    ingest = app_functions()["process_usage_events"]
    [(partition, records)] = synthetic_hub(config).items()
    await _push_rules(config.rules_dir)
    await dependencies.get_pipeline()
    relay = subprocess.Popen(
        [sys.executable, "-m", "squall.bench.relay_loop"],
        stdin=subprocess.PIPE,
        env=dict(os.environ),
        cwd=ROOT,
        stderr=subprocess.DEVNULL,  # its delivery log lines are not the bench's output
    )
    try:
        started = time.perf_counter()
        for start in range(0, len(records), config.batch):
            await ingest(event_hub_events(partition, records[start : start + config.batch]))
        seconds = time.perf_counter() - started
    finally:
        assert relay.stdin is not None
        relay.stdin.close()
        relay.wait(timeout=60)
        await dependencies.close_dependencies()
    return len(records) / seconds
