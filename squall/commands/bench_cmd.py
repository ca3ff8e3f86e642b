"""``squall bench``: throughput and latency of bytes -> canonical event -> rule matches."""

from __future__ import annotations

import sys
from typing import Annotated

import msgspec
import typer

from squall.bench import BenchConfig, report_dict, report_lines, run_bench
from squall.bench.runner import DEFAULT_REPEAT, DEFAULT_WARMUP


def register(app: typer.Typer) -> None:
    """Add ``squall bench`` to the CLI."""
    app.command("bench")(bench)


def bench(
    rules: Annotated[int, typer.Option("--rules", min=0, help="Number of generated rules.")] = 100,
    events: Annotated[
        int | None,
        typer.Option("--events", min=1, help="Events to measure (default 200,000; 20,000 with --store cosmos)."),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Events per batch (Event Hub batch).")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the events and the rules.")] = 0,
    stateful: Annotated[
        bool, typer.Option("--stateful", help="Give 20% of the rules a cool-down (entity state).")
    ] = False,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Events run before measuring.")] = DEFAULT_WARMUP,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="Timed runs; the fastest is reported.")
    ] = DEFAULT_REPEAT,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    store: Annotated[
        str,
        typer.Option(
            "--store",
            help="memory: the hot path in one process. cosmos: the real Function handler on the local Cosmos DB "
            "server, every request counted and priced in RU (needs a clone with `make node`).",
        ),
    ] = "memory",
    partitions: Annotated[int, typer.Option("--partitions", min=1, help="Hub partitions (--store cosmos).")] = 32,
    store_latency_ms: Annotated[
        int,
        typer.Option(
            "--store-latency-ms",
            min=0,
            help="Latency added to every Cosmos DB request when the ingest rate is measured.",
        ),
    ] = 5,
    destination_latency_ms: Annotated[
        list[int] | None,
        typer.Option("--destination-latency-ms", help="Destination latencies to measure the ingest rate at (repeat)."),
    ] = None,
) -> None:
    """Measure raw O365 bytes -> normalize -> rule evaluation on one core, in 100-event batches.

    Seeded synthetic events and a seeded rule set (~5% of events match); warms up first, then times
    --repeat runs over the same events and reports the fastest: events/s, µs/event, batch p50/p99,
    match rate (and state reads/writes with --stateful).
    """
    if store == "cosmos":
        _bench_cosmos(
            events or 20_000,
            batch=batch,
            seed=seed,
            partitions=partitions,
            as_json=as_json,
            store_latency_ms=store_latency_ms,
            destination_latency_ms=destination_latency_ms or [10, 500],
        )
        return
    if store != "memory":
        raise typer.BadParameter(f"{store!r}: use memory or cosmos", param_hint="--store")
    config = BenchConfig(
        rules=rules, events=events or 200_000, batch=batch, seed=seed, stateful=stateful, warmup=warmup, repeat=repeat
    )
    progress = None if as_json else (lambda message: print(f"… {message}", file=sys.stderr))
    report = report_dict(run_bench(config, progress=progress))
    if as_json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    else:
        for line in report_lines(report):
            print(line)


def _bench_cosmos(
    events: int,
    *,
    batch: int,
    seed: int,
    partitions: int,
    as_json: bool,
    store_latency_ms: int,
    destination_latency_ms: list[int],
) -> None:
    """RU per event of the real handler, then the ingest rate beside a slow destination."""
    from squall.bench.cosmos_cost import CostConfig, measure_ingest, run_cost_bench
    from squall.bench.local_cosmos import CosmosServerMissing

    config = CostConfig(events=events, batch=batch, partitions=partitions, seed=seed)
    try:
        report = run_cost_bench(config)
        ingest = CostConfig(events=min(events, 3_000), batch=batch, seed=seed)
        report["ingest"] = measure_ingest(
            ingest, store_latency_ms=store_latency_ms, destination_latencies_ms=tuple(destination_latency_ms)
        )
    except CosmosServerMissing as missing:
        raise typer.BadParameter(str(missing), param_hint="--store cosmos") from None
    if as_json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
        return
    print(
        f"{report['events']:,} events, {report['matches']:,} matches, {report['actions']:,} actions "
        f"({report['delivered']:,} delivered), {report['batches']} batches over {partitions} partitions"
    )
    print(f"Cosmos DB requests per event      {report['requests_per_event']}")
    print(f"RU per event, requests            {report['ru_per_event_requests']}")
    print(
        f"RU per event, + TTL and fan-out   {report['ru_per_event_with_expiry_and_fan_out']} "
        f"({report['fan_out_partitions']} physical partitions at 1 B events/day, 3x peak)"
    )
    for cause, ru in report["ru_per_event_by_cause"].items():
        print(f"  {ru:>7}  {cause} ({report['requests_by_cause'][cause]:,} requests)")
    rates = report["ingest"]["ingest_events_per_s_per_partition"]
    print(
        f"Ingest events/s per partition, store +{store_latency_ms} ms per request: "
        + ", ".join(f"{name.removeprefix('destination_')} destination {rate}" for name, rate in rates.items())
        + f" (change {report['ingest']['ingest_change_pct']}%)"
    )
