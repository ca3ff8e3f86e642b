"""``squall suppress add|remove|list``: the suppression list — entities Squall must not act on.

    squall suppress add ann@contoso.com          # her events are skipped from the next rule refresh
    squall suppress add --hash 3f2a…             # by hash (as `list` shows), when the key is not at hand
    squall suppress remove ann@contoso.com
    squall suppress list --json

The list holds SHA-256 hashes of entity keys, never the keys, and lives with the rules in the store
(``--store``, default SQUALL_STORE). Running instances apply a change at their next rule-set check
(every 10 s). Adding by key also discards the entity's undelivered actions. A privacy request is
``squall suppress add KEY`` then ``squall state delete KEY`` (docs/rules-api.md, "Privacy requests").
Exit status: 0 done, 2 cannot run (no entity given, a bad key or hash, store unreachable).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from shared.entities import SuppressionAdmin, suppression_json
from shared.rules import format_datetime
from squall.commands.state_cmd import EXIT_CANNOT_RUN, JsonOption, StoreOption, on_store

suppress_app = typer.Typer(
    name="suppress", help="The suppression list: entities no action is ever planned for.", no_args_is_help=True
)

EntitiesArgument = Annotated[
    list[str] | None, typer.Argument(metavar="ENTITY", help="Entity keys, as events carry them.", show_default=False)
]
HashOption = Annotated[
    list[str] | None,
    typer.Option("--hash", metavar="SHA256", help="An entity by its hash, as `suppress list` shows it (repeatable)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(suppress_app, name="suppress")


def _wanted(entities: list[str] | None, hashes: list[str] | None) -> tuple[list[str], list[str]]:
    if not entities and not hashes:
        typer.echo("error: name at least one ENTITY (or --hash SHA256)", err=True)
        raise typer.Exit(EXIT_CANNOT_RUN)
    return list(entities or []), list(hashes or [])


@suppress_app.command("add")
def add_command(
    entities: EntitiesArgument = None, hashes: HashOption = None, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """Suppress entities: none of their events is evaluated, no action is planned for them, and their
    undelivered actions are discarded. Already suppressed ones are left as they are."""
    keys, digests = _wanted(entities, hashes)
    change = on_store(store, lambda opened: SuppressionAdmin(opened.rules, opened.states).add(keys, hashes=digests))
    if as_json:
        typer.echo(json.dumps(change.to_json("added")))
        return
    already = len(dict.fromkeys(keys)) + len(dict.fromkeys(digests)) - len(change.changed)
    note = f" ({already} already suppressed)" if already > 0 else ""
    count = f"{len(change.changed)} entit{'y' if len(change.changed) == 1 else 'ies'}"
    typer.echo(f"suppressed {count}{note}; list version {change.version}; "
               f"{change.actions_discarded} undelivered action(s) discarded")  # fmt: skip


@suppress_app.command("remove")
def remove_command(
    entities: EntitiesArgument = None, hashes: HashOption = None, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """Lift the suppression of entities: their next events are evaluated again."""
    keys, digests = _wanted(entities, hashes)
    change = on_store(store, lambda opened: SuppressionAdmin(opened.rules, opened.states).remove(keys, hashes=digests))
    if as_json:
        typer.echo(json.dumps(change.to_json("removed")))
        return
    typer.echo(f"removed {len(change.changed)} of {len(keys) + len(digests)} from the suppression list; "
               f"list version {change.version}")  # fmt: skip


@suppress_app.command("list")
def list_command(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """List the suppressed entities' hashes (the keys are not stored), oldest first."""
    listed = on_store(store, lambda opened: SuppressionAdmin(opened.rules, opened.states).listed())
    if as_json:
        typer.echo(json.dumps(suppression_json(listed)))
        return
    for entry in listed.entries:
        typer.echo(f"{entry.hash}  {format_datetime(entry.added_at) if entry.added_at else '-'}")
    typer.echo(f"{len(listed.entries)} suppressed (list version {listed.version})")
