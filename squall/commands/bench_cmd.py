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
    events: Annotated[int, typer.Option("--events", min=1, help="Events to measure.")] = 200_000,
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
) -> None:
    """Measure raw O365 bytes -> normalize -> rule evaluation on one core, in 100-event batches.

    Seeded synthetic events and a seeded rule set (~5% of events match); warms up first, then times
    --repeat runs over the same events and reports the fastest: events/s, µs/event, batch p50/p99,
    match rate (and state reads/writes with --stateful).
    """
    config = BenchConfig(
        rules=rules, events=events, batch=batch, seed=seed, stateful=stateful, warmup=warmup, repeat=repeat
    )
    progress = None if as_json else (lambda message: print(f"… {message}", file=sys.stderr))
    report = report_dict(run_bench(config, progress=progress))
    if as_json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    else:
        for line in report_lines(report):
            print(line)
