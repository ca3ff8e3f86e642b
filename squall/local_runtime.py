"""Squall with no cloud: SQLite store, the Marketing Cloud stub, the real pipeline.

``squall demo`` and ``squall run`` both go through ``run_local``: events cut into Event Hub-sized
partition batches (``local_input.py``) and handed to ``shared.pipeline.process_batch`` exactly as
the Function does, partitions and time kept like the host and its timer keep them
(``local_partitions.py``), actions delivered over real HTTP — every kind to a local receiver
(``local_destinations.py``): the stub's journeys, rows and webhook receiver, moto's EventBridge.

Rules: a temporary store gets the rule folder; a kept store (``--store``) runs the rule set stored
in it, and stores the folder first only when asked (``push_rules``), so rerunning on the same store
never makes a new rule-set version.
"""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from shared.events.models import RawEvent
from shared.events.options import SourceOption
from shared.pipeline.event_time import EventTimePolicy
from shared.pipeline.report import BatchReport
from shared.rules import compile_ruleset, load_rule_files, validate_rules
from shared.rules_admin import RuleSetAdmin
from shared.settings import Settings
from shared.store.sqlite import SqliteStore
from shared.wiring import open_pipeline
from squall.eventbridge_local import LocalEventBridge, moto_available
from squall.local_destinations import (
    LOCAL_STUB_DELIVERY,
    count_receipts,
    destinations_used,
    local_destination_settings,
    open_local_sender,
    without_kind,
)
from squall.local_input import BATCH_SIZE, PARTITIONS, batch_raw_events, partition_for
from squall.local_partitions import (
    HOST_RETRY_ATTEMPTS,
    DestinationDown,
    LocalRelay,
    deadlines_pending,
    run_partitions,
)
from squall.stub import FaultRates, MarketingCloudStub

__all__ = [
    "BATCH_SIZE",
    "LOCAL_CLIENT_ID",
    "LOCAL_STUB_DELIVERY",
    "PARTITIONS",
    "DestinationDown",
    "InvalidRules",
    "LocalRunResult",
    "NoStoredRules",
    "StubFaults",
    "batch_raw_events",
    "partition_for",
    "run_local",
]

LOCAL_CLIENT_ID = "squall-local"


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


class NoStoredRules(ValueError):
    """A kept store holds no rule set and none was pushed; the message says how to store one."""


@dataclass(slots=True)
class LocalRunResult:
    report: BatchReport
    stub_received: int | None
    stub_duplicates: int | None
    batches: int
    deadlines_pending: int = 0
    #: CPU seconds the run's process spent (the stub's threads included), beside ``report.elapsed_s``.
    cpu_s: float | None = None
    #: What each local receiver got, by action kind (eventbridge only when moto's bus ran).
    received_by_kind: dict[str, int] = field(default_factory=dict)
    #: Rules left out of the run: their destination has no local receiver (EventBridge off).
    skipped_rules: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        data = self.report.as_dict()
        data["stub_received"] = self.stub_received
        data["stub_duplicates"] = self.stub_duplicates
        data["batches"] = self.batches
        data["events_per_s"] = round(self.report.events_in / self.report.elapsed_s) if self.report.elapsed_s else None
        data["deadlines_pending"] = self.deadlines_pending
        data["cpu_s"] = None if self.cpu_s is None else round(self.cpu_s, 3)
        data["events_per_cpu_s"] = round(self.report.events_in / self.cpu_s) if self.cpu_s else None
        data["received_by_kind"] = dict(self.received_by_kind)
        data["skipped_rules"] = list(self.skipped_rules)
        return data


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
    push_rules: bool = False,
    give_up_after: int = HOST_RETRY_ATTEMPTS,
    on_batch: Callable[[BatchReport], None] | None = None,
    source: SourceOption | None = None,
    stub_faults: StubFaults | None = None,
    eventbridge: bool | None = None,
    event_time: EventTimePolicy | None = None,
) -> LocalRunResult:
    """Run batches through the real pipeline against SQLite and the local receivers (or ``sfmc_url``
    and the destinations the settings configure).

    ``eventbridge``: put the EventBridge rules' events on moto's bus (``None``: when moto is
    installed); off, those rules are left out (``result.skipped_rules``). ``event_time`` replaces
    the settings' event-time checks (``squall backfill``: the age measured from now). Raises ``NoStoredRules``
    for a kept store without rules, ``DestinationDown`` (with the report) when a destination stays down.
    """
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="squall-")))
        db_path = store_path or workdir / "squall.db"
        ruleset_name = settings.ruleset if settings is not None else Settings().ruleset
        rules = await _rules_to_run(db_path, ruleset_name, rules_dir, push=push_rules or store_path is None)
        definitions = validate_rules(rules).rules
        stub, bus, skipped = None, None, []
        base = dict(settings.model_dump(by_alias=True)) if settings else {}
        base["SQUALL_STORE"] = f"sqlite:{db_path}"
        if sfmc_url is None:
            buses = destinations_used(definitions, "eventbridge")
            if buses and (eventbridge if eventbridge is not None else moto_available()):
                bus = stack.enter_context(LocalEventBridge())
            elif buses and store_path is None:  # a kept store keeps its rules: those actions are dead-lettered
                skipped = without_kind(rules, definitions, "eventbridge")
                definitions = validate_rules(rules).rules
            secret = secrets.token_urlsafe(24)  # a throwaway credential for the local stub only
            stub = stack.enter_context(
                MarketingCloudStub(
                    event_definition_keys=set(compile_ruleset(definitions).event_definition_keys),
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
                **local_destination_settings(stub, destinations_used(definitions, "webhook"), bus, buses),
            )
        else:
            base.update(SFMC_AUTH_BASE_URL=sfmc_url, SFMC_REST_BASE_URL=sfmc_url)
        run_settings = Settings(**{k: v for k, v in base.items() if v is not None})
        if skipped:
            await _store_rules(db_path, ruleset_name, rules)
        temporary = None  # deleted with workdir, so never fsynced; a kept store is opened by the pipeline
        if store_path is None:
            temporary = SqliteStore(db_path, tombstone_ttl_s=run_settings.outbox_tombstone_ttl_s, throwaway=True)
            stack.callback(temporary.close_now)
        result = await _run_batches(
            batches, run_settings, on_batch, source, quick_retries=stub is not None, attempts=give_up_after,
            store=temporary,
            faults=stub.fault_rates if stub is not None else None, seed=(stub_faults or StubFaults()).seed,
            event_time=event_time,
        )  # fmt: skip
        result.skipped_rules = skipped
        if stub is not None:
            receipts = count_receipts(stub, bus)
            result.stub_received, result.stub_duplicates = receipts.total, receipts.duplicates
            result.received_by_kind = receipts.by_kind
        return result


async def _store_rules(db_path: Path, ruleset: str, rules: list[dict]) -> None:
    """Store ``rules`` as the (temporary) store's rule set."""
    store = SqliteStore(db_path)
    try:
        await RuleSetAdmin(store.rules, ruleset).replace_rules(rules)
    finally:
        await store.close()


async def _rules_to_run(db_path: Path, ruleset: str, rules_dir: Path, *, push: bool) -> list[dict]:
    """The rules the run evaluates: the folder, stored first when ``push`` (only if it changed), or
    else the store's newest version."""
    store = SqliteStore(db_path)
    try:
        admin = RuleSetAdmin(store.rules, ruleset)
        if push:
            await admin.replace_rules(load_rules(rules_dir))
        view = await admin.current()
    finally:
        await store.close()
    if view.version == 0:
        raise NoStoredRules(
            f"sqlite:{db_path} holds no rule set {ruleset!r}: store one with "
            f"`squall rules push DIR --store sqlite:{db_path}`, or add --push-rules"
        )
    return view.rules


async def _run_batches(
    batches: Iterable[list[RawEvent]],
    settings: Settings,
    on_batch: Callable[[BatchReport], None] | None,
    source: SourceOption | None,
    *,
    quick_retries: bool,
    attempts: int,
    faults: FaultRates | None = None,
    seed: int | None = None,
    store: SqliteStore | None = None,
    event_time: EventTimePolicy | None = None,
) -> LocalRunResult:
    """Outbox first (what an interrupted run left), then the input, then the outbox again."""
    senders = AsyncExitStack()
    # the local receivers answer in microseconds: retry them quickly too
    sender = await open_local_sender(settings, senders, faults=faults, seed=seed) if quick_retries else None
    pipeline = await open_pipeline(settings, sender=sender, store=store)
    pipeline.exit_stack.push_async_exit(senders)
    total = BatchReport()
    started, cpu_started = time.perf_counter(), time.process_time()
    deps = pipeline.deps if event_time is None else dataclasses.replace(pipeline.deps, event_time=event_time)
    count = 0
    relay = LocalRelay(deps, total, attempts=attempts)
    try:
        backlog_before, _ = await deps.states.outbox_backlog()
        relay.start()  # first what an interrupted run left, then what this run plans, as it plans it
        count = await run_partitions(batches, deps, total, source, on_batch, attempts=attempts, relay=relay)
        await relay.finish()
        backlog_after, _ = await deps.states.outbox_backlog()
        pending = await deadlines_pending(deps)
    finally:
        await relay.finish()
        await pipeline.aclose()
    # The run's own account: what it planned and found waiting == what it settled and left waiting.
    total.actions_recovered, total.actions_pending = backlog_before, backlog_after
    total.elapsed_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    if relay.gave_up is not None or backlog_after:
        cause = relay.gave_up or "the outbox is not empty"
        raise DestinationDown(
            f"a destination stayed down: {cause}; {backlog_after} action(s) wait in the outbox", total
        )
    return LocalRunResult(report=total, stub_received=None, stub_duplicates=None, batches=count,
                          deadlines_pending=pending, cpu_s=cpu_s)  # fmt: skip
