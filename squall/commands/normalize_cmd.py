"""``squall normalize``: JSONL records in, canonical events out (rejections on stderr)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import msgspec
import typer

from shared.events import (
    SOURCE_OPTIONS,
    Event,
    NormalizeOptions,
    RawEvent,
    Rejection,
    normalize_raw_event,
    parse_json_field_map,
)

_ENCODER = msgspec.json.Encoder()


def register(app: typer.Typer) -> None:
    """Add ``squall normalize`` to the CLI."""
    app.command("normalize")(normalize)


def normalize(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="JSONL file to read; '-' reads stdin.")] = "-",
    source: Annotated[str, typer.Option("--source", help=f"Input format: {', '.join(SOURCE_OPTIONS)}.")] = "auto",
    json_field_map: Annotated[
        str | None,
        typer.Option(
            "--json-field-map",
            help=(
                "Plain JSON field map (canonical field -> dotted source path), e.g. "
                '\'{"id":"eventId","type":"name","time":"ts","entity":"user.id"}\'.'
            ),
        ),
    ] = None,
) -> None:
    """Normalize records (one JSON record or JSON array per line) to canonical events.

    Events go to stdout as JSONL. Each rejected record goes to stderr as one JSON line: line, index, reason.

    Exit status is 0 even with rejections; 2 when the input cannot be read or an option is invalid.
    """
    options = _options(source, json_field_map)
    try:
        stream = sys.stdin.buffer if file == "-" else Path(file).open("rb")  # noqa: SIM115
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=2) from None
    with stream:
        try:
            _normalize_stream(stream, options)
        except BrokenPipeError:  # the reader went away (``| head``): stop quietly, like other filters
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _options(source: str, json_field_map: str | None) -> NormalizeOptions:
    try:
        field_map = None if json_field_map is None else parse_json_field_map(json_field_map)
        return NormalizeOptions(source=source, json_field_map=field_map)  # type: ignore[arg-type]
    except ValueError as exc:
        message = str(exc).replace("SQUALL_JSON_FIELD_MAP", "--json-field-map")
        raise typer.BadParameter(message) from None


def _normalize_stream(stream: BinaryIO, options: NormalizeOptions) -> None:
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for line_number, line in _records(stream):
        result = normalize_raw_event(RawEvent(body=line), options)
        for event in result.events:
            out.write(_ENCODER.encode(event_as_json(event)) + b"\n")
        for rejection in result.rejections:
            err.write(_ENCODER.encode(rejection_as_json(rejection, line_number)) + b"\n")
    out.flush()
    err.flush()


def _records(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for line_number, line in enumerate(stream, 1):
        stripped = line.strip()
        if stripped:
            yield line_number, stripped


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
