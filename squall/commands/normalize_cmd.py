"""``squall normalize``: JSONL records in, canonical events out (rejections on stderr)."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import msgspec
import typer

from shared.events import SOURCE_OPTIONS, Event, NormalizeOptions, Rejection
from shared.events.inputs import jsonl_lines, normalize_line
from squall.cli_errors import EXIT_FAILED
from squall.commands.options import JsonFieldMapOption, normalize_options

_ENCODER = msgspec.json.Encoder()


def register(app: typer.Typer) -> None:
    """Add ``squall normalize`` to the CLI."""
    app.command("normalize")(normalize)


def normalize(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="JSONL file to read; '-' reads stdin.")] = "-",
    source: Annotated[str, typer.Option("--source", help=f"Input format: {', '.join(SOURCE_OPTIONS)}.")] = "auto",
    json_field_map: JsonFieldMapOption = None,
    fail_on_dead_letters: Annotated[
        bool,
        typer.Option("--fail-on-dead-letters", help=f"Exit {EXIT_FAILED} when any record was rejected."),
    ] = False,
) -> None:
    """Normalize records (one JSON record, JSON array or envelope per line) to canonical events.

    Events go to stdout as JSONL. Each rejected record goes to stderr as one JSON line: line, index, reason.

    Exit status is 0 even with rejections (1 with --fail-on-dead-letters); 2 when the input cannot be
    read or an option is invalid.
    """
    options = normalize_options(json_field_map, source=source)
    try:
        stream = sys.stdin.buffer if file == "-" else Path(file).open("rb")  # noqa: SIM115
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=2) from None
    with stream:
        try:
            rejected = _normalize_stream(stream, options)
        except BrokenPipeError:  # the reader went away (``| head``): stop quietly, like other filters
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        except OSError as exc:  # e.g. a directory given as FILE: its first read fails
            typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
            raise typer.Exit(code=2) from None
    if rejected and fail_on_dead_letters:
        raise typer.Exit(EXIT_FAILED)


def _normalize_stream(stream: BinaryIO, options: NormalizeOptions) -> int:
    """Normalize every line; the number of rejected records."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    rejected = 0
    for line_number, line in jsonl_lines(stream):
        result = normalize_line(line, options)
        for event in result.events:
            out.write(_ENCODER.encode(event_as_json(event)) + b"\n")
        for rejection in result.rejections:
            err.write(_ENCODER.encode(rejection_as_json(rejection, line_number)) + b"\n")
        rejected += len(result.rejections)
    out.flush()
    err.flush()
    return rejected


def event_as_json(event: Event) -> dict[str, Any]:
    """An Event as a JSON object, times in ISO 8601 UTC with ``Z`` (2015-06-29T20:03:19Z)."""
    return {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": _utc_text(event.time),
        "entity": event.entity,
        "tenant": event.tenant,
        "attributes": event.attributes,
        "partition": event.partition,
        "sequence_number": event.sequence_number,
        "enqueued_time": None if event.enqueued_time is None else _utc_text(event.enqueued_time),
    }


def rejection_as_json(rejection: Rejection, line_number: int) -> dict[str, Any]:
    return {"line": line_number, "index": rejection.index, "reason": rejection.reason}


def _utc_text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
