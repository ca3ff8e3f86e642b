"""``squall backfill``: run captured history (Event Hubs Capture, Avro) through the rules.

``--test`` is ``squall rules test`` over the capture (nothing sent); without it the events go
through the local runtime like ``squall run`` (SQLite, the stub or ``--sfmc-url``). The window
``--since``/``--until`` selects by enqueued time.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape

from shared.actions.errors import EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError
from shared.events import RawEvent
from shared.pipeline.dry_run import CLOCK_MODES, DryRunReport
from shared.pipeline.event_time import EventTimePolicy
from shared.rules import compile_ruleset, format_datetime
from shared.settings import Duration, Settings, get_settings
from squall.backfill import (
    BlobCapture,
    CaptureCount,
    CaptureFile,
    CaptureFormatError,
    CaptureSource,
    CaptureSourceError,
    LocalCapture,
    TimeWindow,
    backfill_policy,
    capture_batches,
    captured_events,
    counted,
    dry_run_captured,
    live_policy,
    open_blob_capture,
)
from squall.commands.demo_cmd import DEFAULT_RULES, _print, _sqlite_path
from squall.commands.rules_cmd import JsonFieldMapOption, _normalize_options, load_valid_rules
from squall.commands.rules_explain_view import dry_run_summary, render_dry_run
from squall.local_partitions import HOST_RETRY_ATTEMPTS
from squall.local_runtime import DestinationDown, InvalidRules, LocalRunResult, NoStoredRules, run_local

err = Console(stderr=True, soft_wrap=True)
_DURATION = TypeAdapter(Duration)


def register(app: typer.Typer) -> None:
    app.command("backfill")(backfill)


def backfill(
    since: Annotated[
        str,
        typer.Option(
            help="Oldest enqueued time to replay: ISO 8601 (2026-03-01, 2026-03-01T09:00Z) or a "
            "duration ago (P7D, 3600)."
        ),
    ],
    until: Annotated[
        str | None, typer.Option(help="Enqueued time to stop before (same forms as --since); default: now.")
    ] = None,
    capture: Annotated[
        Path | None, typer.Option("--capture", help="Local folder holding Capture files (any depth).")
    ] = None,
    blob: Annotated[
        str | None,
        typer.Option(
            "--blob",
            help="Blob container of the capture: https://ACCOUNT.blob.core.windows.net/CONTAINER "
            "(your Azure identity), or a container name in DEADLETTER__blobServiceUri's account.",
        ),
    ] = None,
    rules: Annotated[Path, typer.Option(help="Folder of rule files.")] = DEFAULT_RULES,
    test: Annotated[
        bool, typer.Option("--test", help="Dry run (rules test): report what would fire, send nothing.")
    ] = False,
    clock: Annotated[str, typer.Option(help="With --test: event (the events' own times) or wall (now).")] = "event",
    max_event_age: Annotated[
        str | None,
        typer.Option(
            help="Refuse events older than this (seconds or ISO 8601, e.g. P2D); default: SQUALL_MAX_EVENT_AGE. "
            "A run measures it from now, --test from each event's enqueued time."
        ),
    ] = None,
    json_field_map: JsonFieldMapOption = None,
    store: Annotated[str | None, typer.Option(help="Run: keep rules, state and outbox in sqlite:PATH.")] = None,
    push_rules: Annotated[bool, typer.Option("--push-rules", help="Run with --store: store --rules first.")] = False,
    sfmc_url: Annotated[
        str | None, typer.Option(help="Run: Marketing Cloud base URL (SFMC_* credentials); default: a local stub.")
    ] = None,
    give_up_after: Annotated[
        int, typer.Option(min=1, help="Run: attempts per batch while a destination is down.")
    ] = HOST_RETRY_ATTEMPTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Replay Event Hubs Capture history (Avro) through the rules: with --test a dry run, else a local run.

    Examples: `squall backfill --capture ./capture --since P7D --test`;
    `squall backfill --blob capture --since 2026-03-01 --until 2026-03-02 --store sqlite:backfill.db`.
    """
    now = datetime.now(UTC)
    window = TimeWindow(_moment(since, "--since", now), _moment(until, "--until", now) if until else now)
    if window.since >= window.until:
        _usage(f"--since {since} is not before --until {until or 'now'}")
    if clock not in CLOCK_MODES:
        _usage(f"--clock must be one of {', '.join(CLOCK_MODES)} (got {clock!r})")
    age = _DURATION.validate_python(max_event_age) if max_event_age and _is_duration(max_event_age) else None
    if max_event_age and age is None:
        _usage(f"--max-event-age {max_event_age!r}: expected seconds or an ISO 8601 duration (P2D)")
    settings = get_settings()
    source = _source(capture, blob, settings)
    files: list[CaptureFile] = []
    count = CaptureCount()
    events = counted(captured_events(source, window, files=files), count)
    try:
        if test:
            policy = live_policy(settings, max_event_age=age)
            report = _dry_run(events, rules, policy=policy, json_field_map=json_field_map, clock=clock)
            _print_test(report, window=window, files=len(files), events=count.events, as_json=as_json)
        else:
            store_path = _sqlite_path(store)
            result = _run(events, rules=rules, store_path=store_path, push_rules=push_rules, sfmc_url=sfmc_url,
                          give_up_after=give_up_after, policy=backfill_policy(settings, max_event_age=age),
                          as_json=as_json)  # fmt: skip
            _print_run(result, window=window, files=len(files), events=count.events, as_json=as_json)
    except (CaptureSourceError, CaptureFormatError) as exc:
        _fail(str(exc))
    finally:
        if isinstance(source, BlobCapture):
            source.close()


def _moment(text: str, option: str, now: datetime) -> datetime:
    """An ISO 8601 date/time (UTC when it names no zone), or a duration ago."""
    value = text.strip()
    if _is_duration(value):
        return now - _DURATION.validate_python(value)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        _usage(f"{option} {text!r}: expected an ISO 8601 time (2026-03-01T09:00Z) or a duration ago (P7D)")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_duration(value: str) -> bool:
    try:
        return isinstance(_DURATION.validate_python(value), timedelta)
    except ValidationError:
        return False


def _source(capture: Path | None, blob: str | None, settings: Settings) -> CaptureSource:
    if (capture is None) == (blob is None):
        _usage("give exactly one of --capture PATH or --blob CONTAINER")
    if capture is not None:
        if not capture.is_dir():
            _usage(f"--capture {capture}: no such folder")
        return LocalCapture(capture)
    try:
        return open_blob_capture(str(blob), settings)
    except CaptureSourceError as exc:
        _usage(str(exc))


def _dry_run(
    events: Iterator[RawEvent], rules: Path, *, policy: EventTimePolicy, json_field_map: str | None, clock: str
) -> DryRunReport:
    ruleset = compile_ruleset(load_valid_rules(rules))
    options = _normalize_options(json_field_map)
    return dry_run_captured(
        events, ruleset, options=options, policy=policy, clock="wall" if clock == "wall" else "event"
    )


def _run(events: Iterator[RawEvent], *, rules: Path, store_path: Path | None, push_rules: bool, sfmc_url: str | None,
         give_up_after: int, policy: EventTimePolicy, as_json: bool) -> LocalRunResult:  # fmt: skip
    try:
        return asyncio.run(
            run_local(
                capture_batches(events),
                rules_dir=rules,
                sfmc_url=sfmc_url,
                store_path=store_path,
                push_rules=push_rules,
                give_up_after=give_up_after,
                event_time=policy,
            )  # fmt: skip
        )
    except InvalidRules as exc:
        for line in exc.errors:
            err.print(f"[red]invalid rule[/] {escape(line)}")
        raise typer.Exit(1) from None
    except NoStoredRules as exc:
        _usage(f"no rules to run: {exc}")
    except (EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError) as exc:
        _usage(f"destination settings: {exc}")
    except DestinationDown as exc:
        err.print(
            f"[red]run stopped:[/] {escape(str(exc))}; the undelivered actions wait in the outbox: rerun to send them"
        )
        _print(LocalRunResult(report=exc.report, stub_received=None, stub_duplicates=None, batches=0), as_json=as_json)
        raise typer.Exit(1) from None


def _capture_summary(window: TimeWindow, files: int, events: int) -> dict[str, Any]:
    return {"since": format_datetime(window.since), "until": format_datetime(window.until), "files": files,
            "events_read": events}  # fmt: skip


def _print_test(report: DryRunReport, *, window: TimeWindow, files: int, events: int, as_json: bool) -> None:
    for rejection in report.rejections:
        err.print(f"rejected: {rejection.reason}", markup=False, highlight=False)
    if as_json:
        document = {
            "capture": _capture_summary(window, files, events),
            "firings": [firing.to_json() for firing in report.firings],
            "rejected": len(report.rejections),
            "summary": dry_run_summary(report),
        }
        typer.echo(json.dumps(document, ensure_ascii=False))
        return
    typer.echo(_capture_line(window, files, events))
    render_dry_run(Console(highlight=False, width=None if sys.stdout.isatty() else 200), report)


def _print_run(result: LocalRunResult, *, window: TimeWindow, files: int, events: int, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({**result.as_dict(), "capture": _capture_summary(window, files, events)}))
        return
    typer.echo(_capture_line(window, files, events))
    _print(result, as_json=False)


def _capture_line(window: TimeWindow, files: int, events: int) -> str:
    return (f"capture: {events} events from {files} files enqueued {format_datetime(window.since)} .. "
            f"{format_datetime(window.until)}")  # fmt: skip


def _usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)
