"""``squall deliveries list|purge``: who got what, and when — the delivery audit of a SQLite store.

    squall deliveries list --entity alice@contoso.com --rule failed-sign-in-burst --since 7d
    squall deliveries list --outcome shadow --json
    squall deliveries purge --before 90d            # retention: delete records older than 90 days

Reads the ``deliveries`` table the outbox fills as it settles actions (delivered, dead-lettered)
and each batch fills with what its shadow rules would have sent (``shared/pipeline/audit.py``).
``--entity`` takes the entity's key and finds its records under the key or its hash, whichever
``SQUALL_AUDIT_ENTITY`` recorded. In Azure the same records are log records in Application
Insights: the KQL is in docs/observability.md. ``purge --before T`` deletes the records settled
before T (nothing in the table expires by itself: run it from a scheduler for a retention). Exit 0,
also when nothing matches; 2 when it cannot run (no such store file, a Cosmos DB or memory store, a
bad option).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.log_fields import entity_hash
from shared.rules import format_datetime, parse_duration
from shared.settings import get_settings
from shared.store import AuditOutcome, DeliveryQuery, DeliveryRecord, StoreError
from shared.store.sqlite import SqliteStore
from shared.store.sqlite.deliveries import SqliteDeliveries

EXIT_CANNOT_RUN = 2
COLUMNS = ("time", "outcome", "rule", "entity", "action", "key", "attempts")


StoreOption = Annotated[
    str | None, typer.Option("--store", metavar="SPEC", help="sqlite:PATH or PATH (default: SQUALL_STORE).")
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="deliveries",
        help="The delivery audit: which actions were delivered, dead-lettered or shadowed, for whom, when.",
        no_args_is_help=True,
    )
    group.command("list")(list_deliveries)
    group.command("purge")(purge_deliveries)
    app.add_typer(group, name="deliveries")


def list_deliveries(
    entity: Annotated[
        str | None,
        typer.Option("--entity", metavar="KEY", help="The entity's key (an e-mail address ...); its hash matches too."),
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", metavar="ID", help="Only this rule's actions.")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="T", help="From this time: ISO 8601 (UTC when no offset), or a duration ago (7d, PT2H)."
        ),
    ] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="T", help="Before this time (same forms).")] = None,
    outcome: Annotated[
        AuditOutcome | None, typer.Option("--outcome", help="Only this outcome (shadow: what shadow rules would send).")
    ] = None,
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """List delivery records, newest first: time, outcome, rule, entity, action, idempotency key, attempts."""
    now = datetime.now(UTC)
    query = DeliveryQuery(
        entities=(entity_hash(entity), entity) if entity else (),
        rule_id=rule,
        since=_moment(since, "--since", now),
        until=_moment(until, "--until", now),
        outcome=outcome,
        limit=limit,
    )
    records = _read(_store_path(store or get_settings().store), query)
    if as_json:
        typer.echo(json.dumps({"count": len(records), "deliveries": [record_json(r) for r in records]}))
        return
    if not records:
        typer.echo("no delivery records match")
        return
    for line in _table(records):
        typer.echo(line)
    typer.echo(f"{len(records)} record{'s' if len(records) != 1 else ''}")


def purge_deliveries(
    before: Annotated[
        str,
        typer.Option(
            "--before", metavar="T",
            help="Delete records settled before this time: ISO 8601 (UTC when no offset) or a duration ago (30d).",
        ),
    ],
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help='One JSON object: {"deleted": N, "before": T}.')] = False,
) -> None:
    """Delete the delivery records settled before T: the audit's retention (nothing expires by itself)."""
    moment = _moment(before, "--before", datetime.now(UTC))
    assert moment is not None  # --before is required
    deleted = _purge(_store_path(store or get_settings().store), moment)
    if as_json:
        typer.echo(json.dumps({"deleted": deleted, "before": format_datetime(moment)}))
        return
    typer.echo(f"deleted {deleted} delivery record{'s' if deleted != 1 else ''} from before {format_datetime(moment)}")


def record_json(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "time": format_datetime(record.at),
        "outcome": record.outcome.value,
        "rule_id": record.rule_id,
        "entity": record.entity,
        "kind": record.kind,
        "destination": record.destination,
        "key": record.key,
        "attempts": record.attempts,
        "event_id": record.event_id,
    }


def _table(records: list[DeliveryRecord]) -> list[str]:
    rows = [
        (format_datetime(r.at.replace(microsecond=0)), r.outcome.value, r.rule_id, r.entity,
         f"{r.kind} -> {r.destination}", r.key, str(r.attempts))
        for r in records
    ]  # fmt: skip
    lines = [COLUMNS, *rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in lines]


def _moment(text: str | None, option: str, now: datetime) -> datetime | None:
    """An ISO 8601 time (a date is its midnight, UTC when no offset) or a duration back from ``now``."""
    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    except OverflowError:
        _fail(f"{option} {text!r}: that is before the year 1; give a shorter duration or an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(f"{option} {text!r}: expected an ISO 8601 time (2026-11-20T10:00:00Z, 2026-11-20) or a duration (7d)")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _store_path(spec: str) -> Path:
    kind, _, argument = spec.partition(":")
    if spec in ("cosmos", "memory"):
        _fail(
            f"the store {spec!r} keeps no delivery records: a memory store forgets them; with Cosmos DB the audit "
            "is in Application Insights (docs/observability.md, \"Who got what\"); pass --store sqlite:PATH"
        )
    path = Path(argument if kind == "sqlite" and argument else spec)
    if not path.is_file():
        _fail(f"no SQLite store at {str(path)!r}: pass --store sqlite:PATH (the file `squall run --store` keeps)")
    return path


def _read(path: Path, query: DeliveryQuery) -> list[DeliveryRecord]:
    return _on_deliveries(path, lambda deliveries: deliveries.find(query))


def _purge(path: Path, before: datetime) -> int:
    return _on_deliveries(path, lambda deliveries: deliveries.purge(before))


def _on_deliveries[T](path: Path, use: Callable[[SqliteDeliveries], T]) -> T:
    """``use`` the ``deliveries`` table of the SQLite store at ``path``; a store problem is one line, exit 2."""

    async def run() -> T:
        store = SqliteStore(path)
        try:
            return use(store.deliveries)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail raises


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_CANNOT_RUN)
