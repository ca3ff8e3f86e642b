"""``squall send``: feed an Event Hub from a JSONL file, stdin or the synthetic generator.

Exit codes: 0 every record sent (or planned); 1 some records refused, or sending failed;
2 the command cannot start (options, events file, connection string).
The Azure SDK is imported only when this command runs, so ``squall --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from squall.send import HubTarget, SendReport
    from squall.send.packing import BatchFactory
    from squall.send.runner import SendBatch
    from squall.send.source import SourceItem

err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
PLAN_ROWS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class SendCommandOptions:
    events: str | None
    synthetic: int | None
    seed: int
    rate: float | None
    max_batch_bytes: int | None
    source: str
    json_entity_path: str | None
    dry_run: bool
    as_json: bool
    retries: int = 3


def register(app: typer.Typer) -> None:
    app.command("send")(send)


def send(
    events: Annotated[str | None, typer.Option("--events", help="JSONL file of records, or - for stdin.")] = None,
    synthetic: Annotated[int | None, typer.Option(min=1, help="Send N synthetic O365 records instead.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --synthetic (same seed, same records).")] = 0,
    namespace: Annotated[
        str | None,
        typer.Option(help="Namespace host; auth: DefaultAzureCredential. [env: EVENTHUB__fullyQualifiedNamespace]"),
    ] = None,
    connection_string_env: Annotated[
        str | None,
        typer.Option(help="Name of the env var holding the connection string. [default: EVENTHUB_CONNECTION_STRING]"),
    ] = None,
    hub: Annotated[str | None, typer.Option(help="Event hub name. [default: EntityPath, else EVENTHUB_NAME]")] = None,
    rate: Annotated[float | None, typer.Option(min=0.001, help="At most this many events per second.")] = None,
    max_batch_bytes: Annotated[
        int | None, typer.Option(min=1024, help="Batch size limit. [default: the hub's; 1 MiB for --dry-run]")
    ] = None,
    source: Annotated[str, typer.Option(help="Record format: auto, o365, cloudevents, eventgrid, json.")] = "auto",
    json_field_map: Annotated[
        str | None, typer.Option(help='json records: {"entity": "dotted.path"}. [env: SQUALL_JSON_FIELD_MAP]')
    ] = None,
    retries: Annotated[int, typer.Option(min=0, help="Retries per failed Event Hubs operation.")] = 3,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pack real batches, print the plan, send nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Send records to Event Hubs: partition key = entity key, packed into size-limited batches."""
    from shared.settings import get_settings
    from squall.send import HubTarget, SendConfigError, SendFailed
    from squall.send.entity_key import RECORD_FORMATS, entity_path_from_field_map

    settings = get_settings()
    if namespace and connection_string_env:
        _fail("give --namespace or --connection-string-env, not both")
    if (events is None) == (synthetic is None):
        _fail("give --events FILE (or - for stdin) or --synthetic N")
    if source not in RECORD_FORMATS:
        _fail(f"--source must be one of: {', '.join(RECORD_FORMATS)}")
    try:
        json_entity_path = entity_path_from_field_map(json_field_map or settings.json_field_map)
    except ValueError as exc:
        _fail(str(exc))
    options = SendCommandOptions(
        events, synthetic, seed, rate, max_batch_bytes, source, json_entity_path, dry_run, as_json, retries
    )
    default_namespace = None if connection_string_env else settings.eventhub_namespace
    target = HubTarget(hub=hub, namespace=namespace or default_namespace, connection_string_env=connection_string_env)
    try:
        report = _execute(options, target, default_hub=settings.eventhub_name)
    except SendConfigError as exc:
        _fail(str(exc))
    except SendFailed as exc:
        err.print(f"error: {exc} ({exc.events_sent} events were sent before the failure)")
        raise typer.Exit(1) from None
    _print_report(report, as_json=as_json)
    if report.events_refused:
        raise typer.Exit(1)


def _execute(options: SendCommandOptions, target: HubTarget, *, default_hub: str) -> SendReport:
    from squall.send import TokenBucket, run_send

    with ExitStack() as resources:
        items, total = _open_source(options, resources)
        new_batch, send_batch = _batch_path(options, target, resources, default_hub=default_hub)
        progress = resources.enter_context(_progress(disabled=options.as_json))
        task = progress.add_task("events", total=total)

        def show_refusal(refusal: Any) -> None:
            err.print(f"refused {refusal}")
            progress.advance(task, 1)

        return run_send(
            items,
            new_batch=new_batch,
            send_batch=send_batch,
            record_format=options.source,
            json_entity_path=options.json_entity_path,
            bucket=TokenBucket(rate_per_s=options.rate) if options.rate and not options.dry_run else None,
            max_events_per_batch=max(1, int(options.rate)) if options.rate else None,
            on_refusal=show_refusal,
            on_batch=lambda packed: progress.advance(task, packed.events),
        )


def _open_source(options: SendCommandOptions, resources: ExitStack) -> tuple[Iterator[SourceItem], int | None]:
    from squall.send import read_jsonl, synthetic_records

    if options.synthetic is not None:
        return synthetic_records(options.synthetic, seed=options.seed), options.synthetic
    if options.events == "-":
        return read_jsonl(sys.stdin.buffer), None
    path = Path(str(options.events))
    try:
        stream = resources.enter_context(path.open("rb"))
        with path.open("rb") as counting:
            total = sum(1 for line in counting if line.strip())
    except OSError as exc:
        _fail(f"cannot read events file {path}: {exc.strerror}")
    return read_jsonl(stream), total


def _batch_path(
    options: SendCommandOptions, target: HubTarget, resources: ExitStack, *, default_hub: str
) -> tuple[BatchFactory, SendBatch | None]:
    """Offline batches and no sender for a dry run; otherwise the producer's batches and send_batch."""
    from squall.send import (
        EVENT_HUBS_MAX_BATCH_BYTES,
        offline_batch_factory,
        open_producer,
        producer_batch_factory,
    )

    if options.dry_run:
        return offline_batch_factory(options.max_batch_bytes or EVENT_HUBS_MAX_BATCH_BYTES), None
    producer = resources.enter_context(open_producer(target, default_hub=default_hub, retries=options.retries))
    return producer_batch_factory(producer, max_batch_bytes=options.max_batch_bytes), producer.send_batch


def _progress(*, disabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=disabled or not err.is_terminal,
    )


def _print_report(report: SendReport, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    out = Console(highlight=False, markup=False, soft_wrap=True)
    if report.dry_run:
        out.print(_plan_table(report.plan))
    verb = "planned" if report.dry_run else "sent"
    events = sum(row["events"] for row in report.plan) if report.dry_run else report.events_sent
    out.print(
        f"{verb} {events} of {report.events_read} events in {report.batches} batches"
        f" for {report.partition_keys} partition keys ({report.bytes} bytes) in {report.elapsed_s:.2f} s;"
        f" refused {report.events_refused}"
    )


def _plan_table(plan: list[dict[str, Any]]) -> Table:
    table = Table(title="Batches (dry run)")
    for column in ("#", "partition key", "events", "bytes", "first", "last"):
        table.add_column(column)
    for number, row in enumerate(plan[:PLAN_ROWS_SHOWN], start=1):
        table.add_row(
            str(number),
            row["partition_key"],
            str(row["events"]),
            str(row["bytes"]),
            row["first"],
            row["last"],
        )
    if len(plan) > PLAN_ROWS_SHOWN:
        table.caption = f"{len(plan) - PLAN_ROWS_SHOWN} more batches; --json lists all"
    return table


def _fail(message: str) -> NoReturn:
    err.print(f"error: {message}")
    raise typer.Exit(2)
