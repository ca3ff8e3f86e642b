"""``squall demo`` and ``squall run``: the local runtime from the command line."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.actions.errors import EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError
from shared.events.errors import RecordRejected
from shared.events.inputs import jsonl_lines, message_of_line
from shared.events.models import RawEvent
from shared.events.options import NormalizeOptions
from shared.settings import Settings
from squall.cli_errors import EXIT_FAILED, fail
from squall.commands.options import (
    FailOnDeadLettersOption,
    JsonFieldMapOption,
    SfmcAuthUrlOption,
    SfmcRestUrlOption,
    SfmcUrlOption,
    marketing_cloud_urls,
    normalize_options,
)
from squall.eventbridge_local import moto_available
from squall.local_destinations import MarketingCloudUrls
from squall.local_input import entity_key_for, input_identity
from squall.local_partitions import HOST_RETRY_ATTEMPTS
from squall.local_runtime import (
    DestinationDown,
    InvalidRules,
    LocalRunResult,
    NoStoredRules,
    StubFaults,
    batch_raw_events,
    run_local,
)

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules"
#: Where each kind of action lands in a local run.
RECEIVERS = {
    "journey_entry": "stub journeys",
    "data_extension_row": "stub data extension rows",
    "webhook": "stub webhook receiver, signatures verified",
    "eventbridge": "moto EventBridge bus",
}
err = Console(stderr=True, soft_wrap=True)  # one message, one line, whatever the width


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("run")(run)


def demo(
    events: Annotated[int, typer.Option("--events", "-n", min=1, help="Synthetic O365 records to generate.")] = 5000,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same events).")] = 42,
    rules: Annotated[Path, typer.Option(help="Folder of rule files.")] = DEFAULT_RULES,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    stub_error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of stub REST requests answered 500/503 (0-1).")
    ] = 0.0,
    stub_throttle_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of stub REST requests answered 429 (0-1).")
    ] = 0.0,
    stub_latency_ms: Annotated[int, typer.Option(min=0, help="Delay added to every stub REST answer (ms).")] = 0,
    stub_token_ttl: Annotated[float, typer.Option(min=1, help="Stub access token lifetime (seconds).")] = 1200.0,
    stub_fault_seed: Annotated[int | None, typer.Option(help="Seed for the injected faults.")] = None,
    eventbridge: Annotated[
        bool | None,
        typer.Option(
            "--eventbridge/--no-eventbridge",
            help="Put the EventBridge rules' events on a local bus (moto's server); default: when moto is installed.",
            show_default=False,
        ),
    ] = None,
    journey_mode: Annotated[
        str,
        typer.Option(
            "--journey-mode",
            help="Journey entries one per request (sync) or up to 100 per async batch request (async).",
        ),
    ] = "async",
    suppress: Annotated[
        list[str] | None,
        typer.Option(
            "--suppress",
            metavar="ENTITY",
            help="Put this entity on the suppression list first (repeatable); default: the seed's most active user.",
            show_default=False,
        ),
    ] = None,
    fail_on_dead_letters: FailOnDeadLettersOption = False,
) -> None:
    """Generate synthetic Office 365 usage, run it through rules to every kind of destination: the
    Marketing Cloud stub (journeys, rows), its webhook receiver and a local EventBridge (moto). One
    entity is suppressed, as after an opt-out: its events are counted, never evaluated."""
    import msgspec

    from squall.synthetic import generate_o365_records, most_active_user  # generator only needed here

    def bodies() -> Iterator[tuple[bytes, str | None]]:
        for record in generate_o365_records(events, seed=seed):
            yield msgspec.json.encode(record), record.get("UserId")

    faults = StubFaults(
        error_rate=stub_error_rate,
        throttle_rate=stub_throttle_rate,
        latency_ms=stub_latency_ms,
        token_ttl_s=stub_token_ttl,
        seed=seed if stub_fault_seed is None else stub_fault_seed,
    )
    if eventbridge and not moto_available():
        err.print("[red]--eventbridge needs moto:[/] pip install -e '.[dev]'")
        raise typer.Exit(2)
    if journey_mode not in ("sync", "async"):
        err.print(f"[red]--journey-mode must be sync or async[/] (got {journey_mode!r})")
        raise typer.Exit(2)
    # The hub's part comes first: the records are generated and cut into partition batches before
    # the run starts, so events_per_s measures Squall, not the synthetic producer (~4 s per 100,000).
    prepared = list(batch_raw_events(bodies()))
    result = _execute(
        prepared, total=events, rules=rules, sfmc_url=None, as_json=as_json, stub_faults=faults,
        eventbridge=eventbridge, settings=Settings.model_validate({"SFMC_JOURNEY_ENTRY_MODE": journey_mode}),
        suppress=suppress if suppress is not None else [most_active_user(seed)],
    )  # fmt: skip
    _print(result, as_json=as_json)
    if result.stub_received is not None and result.stub_received < result.report.actions_delivered:
        raise typer.Exit(1)  # something reported delivered never reached the stub
    _exit_if_dead_lettered(result, fail_on_dead_letters)


def run(
    events: Annotated[str, typer.Option("--events", help="JSONL file of events, or - for stdin.")],
    rules: Annotated[Path, typer.Option(help="Folder of rule files.")] = DEFAULT_RULES,
    sfmc_url: SfmcUrlOption = None,
    sfmc_auth_url: SfmcAuthUrlOption = None,
    sfmc_rest_url: SfmcRestUrlOption = None,
    source: Annotated[
        str,
        typer.Option(help="Event format of every line: auto, o365, cloudevents, eventgrid, iothub or json."),
    ] = "auto",
    store: Annotated[
        str | None,
        typer.Option(
            help="Keep rules, state, outbox and dead letters in sqlite:PATH and run the rule set stored there "
            "(default: a temporary store loaded from --rules)."
        ),
    ] = None,
    push_rules: Annotated[
        bool,
        typer.Option("--push-rules", help="With --store: store --rules as the rule set first (if they changed)."),
    ] = False,
    give_up_after: Annotated[
        int,
        typer.Option(
            min=1,
            help="Attempts per batch while a destination is down (the host retries for ever) before the run "
            "stops; what was not delivered waits in the outbox.",
        ),
    ] = HOST_RETRY_ATTEMPTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    json_field_map: JsonFieldMapOption = None,
    fail_on_dead_letters: FailOnDeadLettersOption = False,
) -> None:
    """Run events from a JSONL file (a line is one event, a JSON array or an envelope with the
    message's properties, docs/events.md) through the pipeline.

    Rerunning the same file on the same --store is a replay: each record keeps its partition (by
    entity key) and sequence number (its position), so nothing is applied or sent twice, and what
    an interrupted run left in the outbox is delivered first.
    """
    store_path = _sqlite_path(store)
    options = normalize_options(json_field_map, source=source)
    marketing_cloud = marketing_cloud_urls(sfmc_url, sfmc_auth_url, sfmc_rest_url)
    path = None if events == "-" else Path(events)
    if path is not None and not path.is_file():
        fail(f"cannot read events: {'a directory' if path.is_dir() else 'no such file'}: {path}")
    settings = None if json_field_map is None else Settings(SQUALL_JSON_FIELD_MAP=json_field_map)  # type: ignore[call-arg]
    input_id = None if path is None else input_identity(path)
    result = _execute(
        batch_raw_events(_messages(path, options), input_id=input_id), total=None, rules=rules,
        sfmc_url=marketing_cloud, as_json=as_json, store_path=store_path, source=source, push_rules=push_rules,
        settings=settings, give_up_after=give_up_after,
    )  # fmt: skip
    _print(result, as_json=as_json)
    _exit_if_dead_lettered(result, fail_on_dead_letters)


def _messages(path: Path | None, options: NormalizeOptions) -> Iterator[tuple[bytes | RawEvent, str | None]]:
    """Each line of the events file (or stdin) as the hub delivers it, with its partition key."""
    entity_path = options.json_field_map.get("entity") if options.json_field_map else None
    with path.open("rb") if path is not None else nullcontext(sys.stdin.buffer) as stream:
        for _, line in jsonl_lines(stream):
            try:
                message: bytes | RawEvent = message_of_line(line, options)
            except RecordRejected:  # a malformed envelope: the pipeline rejects it as a record, with a reason
                message = line
            yield message, entity_key_for(message, source=options.source, json_entity_path=entity_path)


def _exit_if_dead_lettered(result: LocalRunResult, fail_on_dead_letters: bool) -> None:
    report = result.report
    if fail_on_dead_letters and (report.events_dead_lettered or report.actions_dead_lettered):
        raise typer.Exit(EXIT_FAILED)


def _sqlite_path(store: str | None) -> Path | None:
    if store is None:
        return None
    kind, _, path = store.partition(":")
    if kind != "sqlite" or not path:
        err.print(f"[red]--store must be sqlite:PATH[/] (got {store!r})")
        raise typer.Exit(2)
    return Path(path)


def _execute(
    batches: Iterable[list[RawEvent]],
    *,
    total: int | None,
    rules: Path,
    sfmc_url: MarketingCloudUrls | None,
    as_json: bool,
    store_path: Path | None = None,
    source: str = "auto",
    stub_faults: StubFaults | None = None,
    push_rules: bool = False,
    give_up_after: int = HOST_RETRY_ATTEMPTS,
    eventbridge: bool | None = None,
    settings: Settings | None = None,
    suppress: list[str] | None = None,
) -> LocalRunResult:
    progress = Progress(
        TextColumn("[bold]events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=as_json or not err.is_terminal and total is None,
    )
    if (store_path is None or push_rules) and not rules.exists():
        fail(f"--rules {rules}: no such file or directory")
    with progress:
        task = progress.add_task("events", total=total)
        try:
            return asyncio.run(
                run_local(
                    batches,
                    rules_dir=rules,
                    sfmc_url=sfmc_url,
                    store_path=store_path,
                    push_rules=push_rules,
                    give_up_after=give_up_after,
                    stub_faults=stub_faults,
                    eventbridge=eventbridge,
                    settings=settings,
                    suppress=suppress or [],
                    source=None if source == "auto" else source,  # type: ignore[arg-type]
                    on_batch=lambda report: progress.advance(task, report.events_in),
                )
            )
        except InvalidRules as exc:
            for line in exc.errors:
                err.print(f"[red]invalid rule[/] {escape(line)}")
            raise typer.Exit(1) from exc
        except NoStoredRules as exc:
            err.print(f"[red]no rules to run:[/] {exc}")
            raise typer.Exit(2) from None
        except (EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError) as exc:
            progress.stop()
            err.print(f"[red]destination settings:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except DestinationDown as exc:
            progress.stop()
            err.print(f"[red]run stopped:[/] {exc}; the undelivered actions wait in the outbox: rerun to send them")
            stopped = LocalRunResult(report=exc.report, stub_received=None, stub_duplicates=None, batches=0)
            _print(stopped, as_json=as_json)
            raise typer.Exit(1) from None


def _print(result: LocalRunResult, *, as_json: bool) -> None:
    data = result.as_dict()
    if as_json:
        typer.echo(json.dumps(data))
        return
    table = Table(title="Squall run", show_header=False)
    for key, value in data.items():
        if not isinstance(value, dict | list):
            table.add_row(key, str(value))
    Console().print(table)
    shadow = result.report.shadow_matches_by_rule
    for rule_id, count in sorted(result.report.matches_by_rule.items()):
        if rule_id in shadow:
            Console().print(f"  shadow        {count:>6}  {rule_id} (shadow rule: recorded, not sent)")
        else:
            Console().print(f"  matched       {count:>6}  {rule_id}")
    for kind, count in result.received_by_kind.items():
        Console().print(f"  received      {count:>6}  {kind} ({RECEIVERS[kind]})")
    for rule_id in result.skipped_rules:
        Console().print(f"  skipped               {rule_id} (no local EventBridge: install moto or pass --eventbridge)")
    for entity in result.suppressed_entities:
        Console().print(f"  suppressed            {entity}", markup=False)
    for reason, count in sorted(result.report.dead_letter_reasons_full.items(), key=lambda item: (-item[1], item[0])):
        Console(soft_wrap=True).print(f"  dead-lettered {count:>6}  {reason}", markup=False)
