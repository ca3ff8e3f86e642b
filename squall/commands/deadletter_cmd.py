"""``squall deadletter list|show|replay``: inspect and replay parked events and actions.

The letters come from SQLite (``--store sqlite:PATH``) or Blob storage (``--blob``); by default from
where the settings send them (Blob when ``DEADLETTER__blobServiceUri`` or
``DEADLETTER_CONNECTION_STRING`` is set, else the SQLite file of ``SQUALL_STORE``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.actions.errors import DeliveryError, EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError
from shared.settings import Settings, get_settings
from shared.store import StoreError
from shared.store.deadletter_archive import DeadLetterArchive, DeadLetterKind, DeadLetterSummary
from shared.store.models import DeadLetter
from shared.store.ports import Store
from shared.wiring import LOCAL_DEADLETTERS, open_store
from squall.cli_errors import fail
from squall.commands.deadletter_models import ReplayResult, ReplayStatus
from squall.commands.deadletter_replay import replay_letters
from squall.commands.options import (
    JsonFieldMapOption,
    SfmcAuthUrlOption,
    SfmcRestUrlOption,
    SfmcUrlOption,
    marketing_cloud_urls,
    normalize_options,
)
from squall.local_runtime import InvalidRules

err = Console(stderr=True, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Read dead letters from a SQLite store: sqlite:PATH."),
]
BlobOption = Annotated[
    bool,
    typer.Option(
        "--blob",
        help="Read dead letters from Blob storage (DEADLETTER__blobServiceUri or DEADLETTER_CONNECTION_STRING).",
    ),
]


KindOption = Annotated[DeadLetterKind | None, typer.Option("--kind", help="Only letters of this kind.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="deadletter", help="List, show and replay dead letters.", no_args_is_help=True)
    group.command("list")(list_letters)
    group.command("show")(show_letter)
    group.command("replay")(replay)
    app.add_typer(group)


def list_letters(
    store: StoreOption = None,
    blob: BlobOption = False,
    kind: KindOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List dead letters, oldest first (Blob: from metadata, payloads are not downloaded)."""

    async def read(archive: DeadLetterArchive) -> list[DeadLetterSummary]:
        return await archive.list_summaries(limit=limit, kind=kind)

    summaries = _run(read, store=store, blob=blob)
    if as_json:
        typer.echo(json.dumps([_summary_json(summary) for summary in summaries]))
        return
    table = Table(title=f"{len(summaries)} dead letter(s)")
    for column in ("id", "kind", "created (UTC)", "partition", "sequence", "attempts", "bytes"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for s in summaries:
        created = s.created_at.strftime("%Y-%m-%d %H:%M:%S")
        row = (s.id, s.kind, created, s.partition or "", _text(s.sequence_number), str(s.attempts))
        table.add_row(*map(escape, row), str(s.payload_bytes), escape(s.reason))
    _stdout().print(table)


def show_letter(
    letter_id: Annotated[str, typer.Argument(metavar="ID", help="The id `list` shows.")],
    store: StoreOption = None,
    blob: BlobOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show one dead letter: reason, attempts, provenance and the original payload."""

    async def read(archive: DeadLetterArchive) -> DeadLetter | None:
        return await archive.get(letter_id)

    letter = _run(read, store=store, blob=blob)
    if letter is None:
        err.print(f"[red]no dead letter[/] {escape(letter_id)}")
        raise typer.Exit(1)
    record = letter_json(letter)
    if as_json:
        typer.echo(json.dumps(record))
        return
    payload = record.pop("payload")
    for key, value in record.items():
        typer.echo(f"{key:>17}: {_text(value)}")
    typer.echo("payload:")
    typer.echo(payload)


def replay(
    letter_ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Letters to replay.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every letter (up to --limit).")] = False,
    store: StoreOption = None,
    blob: BlobOption = False,
    kind: KindOption = None,
    limit: Annotated[int, typer.Option(min=1, help="With --all: at most this many, oldest first.")] = 1000,
    rules: Annotated[
        Path | None,
        typer.Option(
            help="Replay events with the rules of this folder on a fresh store; default: the store's own rule "
            "set and entity state (SQUALL_RULESET).",
        ),
    ] = None,
    sfmc_url: SfmcUrlOption = None,
    sfmc_auth_url: SfmcAuthUrlOption = None,
    sfmc_rest_url: SfmcRestUrlOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run them to the local stub and report; change no letter.")
    ] = False,
    as_json: JsonOption = False,
    json_field_map: JsonFieldMapOption = None,
) -> None:
    """Run event letters through the pipeline again; a letter is deleted once processed.

    Events that fail again are dead-lettered anew (attempts + 1) and the old letter is deleted.
    Action letters of failed deliveries are re-sent; those of failed planning are kept.
    """
    if bool(letter_ids) == replay_all:
        err.print("[red]name letter ids or --all[/] (one of the two)")
        raise typer.Exit(2)
    marketing_cloud = marketing_cloud_urls(sfmc_url, sfmc_auth_url, sfmc_rest_url)
    if dry_run and marketing_cloud:
        err.print("[red]--dry-run sends to the local stub;[/] leave out --sfmc-url")
        raise typer.Exit(2)
    if rules is not None and not rules.exists():
        fail(f"--rules {rules}: no such file or directory")
    settings = get_settings()
    if json_field_map is not None:
        normalize_options(json_field_map)  # exits with the problem in one line
        settings = settings.model_copy(update={"json_field_map": json_field_map})

    async def run(archive: DeadLetterArchive) -> ReplayResult:
        letters = await _select(archive, letter_ids or [], kind=kind, limit=limit if replay_all else None)
        async with _pipeline_store(store, settings, needed=rules is None, dry_run=dry_run) as (pipeline_store, name):
            return await replay_letters(
                archive, letters, rules_dir=rules, sfmc_url=marketing_cloud, settings=settings, dry_run=dry_run,
                store=pipeline_store, store_name=name,
            )  # fmt: skip

    try:
        result = _run(run, store=store, blob=blob)
    except InvalidRules as exc:
        for line in exc.errors:
            err.print(f"[red]invalid rule[/] {escape(line)}")
        raise typer.Exit(1) from exc
    _print_replay(result, as_json=as_json, dry_run=dry_run)


async def _select(
    archive: DeadLetterArchive, letter_ids: list[str], *, kind: DeadLetterKind | None, limit: int | None
) -> list[DeadLetter]:
    if limit is not None:
        return await archive.list(limit=limit, kind=kind)
    found = await asyncio.gather(*(archive.get(letter_id) for letter_id in letter_ids))
    missing = [letter_id for letter_id, letter in zip(letter_ids, found, strict=True) if letter is None]
    if missing:
        raise _Refused(f"no dead letter {', '.join(missing)}; nothing was replayed")
    return [letter for letter in found if letter is not None and (kind is None or letter.kind == kind)]


@asynccontextmanager
async def _pipeline_store(
    store: str | None, settings: Settings, *, needed: bool, dry_run: bool
) -> AsyncIterator[tuple[Store | None, str]]:
    """The store whose rules, state and de-duplication a replay uses: the ``--store`` file, else
    ``SQUALL_STORE``. Opened only when ``needed`` (no ``--rules``) or when it is the ``--store`` file.
    A dry run works on a copy of a SQLite store; other stores it refuses (it would change their state)."""
    spec = store or settings.store
    if not (needed or store):
        yield None, spec
        return
    kind, _, argument = spec.partition(":")
    with tempfile.TemporaryDirectory(prefix="squall-replay-") as workdir:
        opened_spec = spec
        if dry_run and kind == "sqlite":
            opened_spec = f"sqlite:{_copy_sqlite(_sqlite_path(spec), Path(workdir) / 'dry-run.db')}"
        elif dry_run and needed and kind != "memory":
            raise _Refused(f"--dry-run would change the state of {spec}; add --rules DIR to rehearse on a fresh store")
        elif store:
            _sqlite_path(store)  # the same checks as for reading the letters
        opened = await open_store(opened_spec, settings)
        try:
            yield opened, spec
        finally:
            await opened.close()


def _copy_sqlite(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    return target


class _Refused(Exception):
    """The command cannot run as asked; the message says why."""


def _run[T](use: Callable[[DeadLetterArchive], Awaitable[T]], *, store: str | None, blob: bool) -> T:
    async def main() -> T:
        async with opened_archive(store=store, blob=blob, settings=get_settings()) as archive:
            return await use(archive)

    try:
        return asyncio.run(main())
    except (EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError) as exc:  # cannot start
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    except (StoreError, DeliveryError, _Refused) as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from exc


@asynccontextmanager
async def opened_archive(*, store: str | None, blob: bool, settings: Settings) -> AsyncIterator[DeadLetterArchive]:
    """The dead-letter store named by the options, or by the settings when neither is given."""
    if store and blob:
        raise _Refused("use --store or --blob, not both")
    if blob or (store is None and _blob_configured(settings)):
        from shared.store.blob_deadletters import BlobDeadLetterStore

        blob_store = BlobDeadLetterStore.from_settings(settings)
        try:
            yield blob_store
        finally:
            await blob_store.close()
        return
    from shared.store.sqlite import SqliteStore

    path = _sqlite_path(store or _default_store(settings))
    sqlite = SqliteStore(path)
    try:
        yield sqlite.deadletters
    finally:
        await sqlite.close()


def _blob_configured(settings: Settings) -> bool:
    return bool(settings.deadletter_blob_service_uri or settings.deadletter_connection_string)


def _default_store(settings: Settings) -> str:
    """Where the pipeline parks letters without Blob storage: SQUALL_STORE's file, or the local one."""
    return f"sqlite:{LOCAL_DEADLETTERS}" if settings.store == "cosmos" else settings.store


def _sqlite_path(spec: str) -> Path:
    kind, _, argument = spec.partition(":")
    if kind != "sqlite" or not argument:
        raise _Refused(f"{spec!r} keeps no dead letters to read: use --store sqlite:PATH or --blob")
    path = Path(argument)
    if not path.is_file():
        raise _Refused(f"no SQLite store at {path} (check --store or SQUALL_STORE)")
    return path


def letter_json(letter: DeadLetter) -> dict[str, Any]:
    """The letter as JSON: the payload as text when it is UTF-8, else base64 (``payload_encoding``)."""
    record: dict[str, Any] = asdict(letter)
    try:
        record["payload"], record["payload_encoding"] = letter.payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        record["payload"] = base64.b64encode(letter.payload).decode("ascii")
        record["payload_encoding"] = "base64"
    for name in ("enqueued_time", "created_at"):
        record[name] = record[name].isoformat() if record[name] else None
    return {"id": record.pop("id"), **record}


def _summary_json(summary: DeadLetterSummary) -> dict[str, Any]:
    record = asdict(summary)
    record["created_at"] = summary.created_at.isoformat()
    return record


def _print_replay(result: ReplayResult, *, as_json: bool, dry_run: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.as_dict() | {"dry_run": dry_run}))
        return
    out = _stdout()
    for outcome in result.outcomes:
        reasons = "; ".join(outcome.reasons)
        out.print(f"{outcome.status:<20} {escape(outcome.letter_id)}  {escape(reasons)}")
    counts = {status: 0 for status in ReplayStatus}
    for outcome in result.outcomes:
        counts[outcome.status] += 1
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    out.print(f"{'dry run: no letter changed; ' if dry_run else ''}{summary}")
    if result.stub_received is not None:
        out.print(f"actions went to the local stub ({result.stub_received}); use --sfmc-url to send them")


def _stdout() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=250)


def _text(value: object) -> str:
    return "" if value is None else str(value)
