"""``squall state show|reset|delete ENTITY``: one entity's stored state (SQLite or Cosmos DB).

    squall state show ann@contoso.com              # per rule: windows, deadlines, machine, cool-downs
    squall state show ann@contoso.com --json       # the same and the raw stored data, one JSON object
    squall state reset ann@contoso.com --rule burst --yes
    squall state delete ann@contoso.com --yes      # state, unsent actions, dead letters; suppress first

The store is ``--store`` (memory | sqlite:PATH | cosmos), by default SQUALL_STORE — the same
``sqlite:.squall/squall.db`` that ``squall rules push`` and the Functions host use locally.
``reset`` and ``delete`` change stored data: they ask first on a terminal, and need ``--yes``
otherwise. Exit status: 0 done (also when nothing was stored), 1 declined at the prompt, 2 cannot
run (bad key, no --yes without a terminal, store unreachable).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from shared.entities import EntityAdmin, EntityRequestInvalid, EntityStateView, check_entity
from shared.events.models import Event
from shared.rules import RuleMemory, format_datetime
from shared.settings import get_settings
from shared.store import EntityState, Store, StoreError
from shared.wiring import open_store

EXIT_DECLINED = 1
EXIT_CANNOT_RUN = 2

state_app = typer.Typer(name="state", help="Show, reset or delete one entity's stored state.", no_args_is_help=True)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", metavar="SPEC", help="memory | sqlite:PATH | cosmos (default: SQUALL_STORE)."),
]
EntityArgument = Annotated[str, typer.Argument(metavar="ENTITY", help="The entity key, as events carry it.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when stdin is not a terminal).")]


def register(app: typer.Typer) -> None:
    app.add_typer(state_app, name="state")


def on_store[T](store: str | None, act: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``act`` on the store ``store`` names (default SQUALL_STORE); a store or input problem is one
    line on stderr and exit 2."""
    settings = get_settings()

    async def run() -> T:
        opened = await open_store(store or settings.store, settings)
        try:
            return await act(opened)
        finally:
            await opened.close()

    try:
        return asyncio.run(run())
    except (StoreError, EntityRequestInvalid) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_RUN) from None


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def confirm_or_exit(question: str, *, yes: bool, flag: str = "--yes") -> None:
    """Go on when ``yes``; ask on a terminal; refuse in one line otherwise."""
    if yes:
        return
    if not stdin_is_terminal():
        typer.echo(f"error: {question.rstrip('?')}: refused without {flag} (stdin is not a terminal)", err=True)
        raise typer.Exit(EXIT_CANNOT_RUN)
    if not typer.confirm(question, default=False):
        typer.echo("nothing changed", err=True)
        raise typer.Exit(EXIT_DECLINED)


@state_app.command("show")
def show_command(entity: EntityArgument, store: StoreOption = None, as_json: JsonOption = False) -> None:
    """Print what Squall keeps about ENTITY: per rule its window, sequence, deadline, machine state and
    cool-down; the entity's clock, last applied sequence numbers, pending actions and suppression."""
    view = on_store(store, lambda opened: EntityAdmin.of(opened).show(entity))
    if as_json:
        typer.echo(json.dumps(view.to_json(), indent=2, ensure_ascii=False))
        return
    for line in describe_view(view):
        typer.echo(line)


@state_app.command("reset")
def reset_command(
    entity: EntityArgument,
    rule: Annotated[str | None, typer.Option("--rule", metavar="RULE", help="Reset this rule only.")] = None,
    store: StoreOption = None,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Forget what ENTITY's state holds for RULE (every rule without --rule): windows, sequences,
    deadlines, machine state, cool-downs. Keeps the entity's clock and the replay guards, so a
    replayed event it already took still cannot fire twice."""
    which = f"rule {rule!r}" if rule else "every rule"
    confirm_or_exit(f"Reset {which} of {entity!r}?", yes=yes)
    outcome = on_store(store, lambda opened: EntityAdmin.of(opened).reset(entity, rule=rule))
    if as_json:
        typer.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
    elif not outcome.rules_reset:
        typer.echo(f"nothing to reset: no state stored for {which} of {entity!r}")
    else:
        kept = ", ".join(outcome.kept)
        typer.echo(f"reset {len(outcome.rules_reset)} rule(s) of {entity!r}: {', '.join(outcome.rules_reset)} "
                   f"(kept: {kept})")  # fmt: skip


@state_app.command("delete")
def delete_command(entity: EntityArgument, store: StoreOption = None, yes: YesOption = False,
                   as_json: JsonOption = False) -> None:  # fmt: skip
    """Delete ENTITY's state document, discard its undelivered actions (they are never sent) and
    remove the dead letters holding its events or actions. New events of ENTITY create state again
    unless it is suppressed first (`squall suppress add`)."""
    confirm_or_exit(f"Delete the state of {entity!r}?", yes=yes)
    outcome = on_store(store, lambda opened: EntityAdmin.of(opened).delete(entity))
    if as_json:
        typer.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
        return
    done = f"deleted the state of {entity!r}" if outcome.state_deleted else f"no state stored for {entity!r}"
    typer.echo(f"{done}; {outcome.actions_discarded} undelivered action(s) discarded; "
               f"{outcome.dead_letters_deleted} dead letter(s) deleted")  # fmt: skip


def stored_state_for(event: Event, *, store: str | None, entity: str | None) -> tuple[Event, EntityState]:
    """``rules explain --store/--entity``: the event as ``entity``'s (default: its own) and that
    entity's stored state (empty, with a note on stderr, when nothing is stored)."""
    key = entity or event.entity
    if key != event.entity:
        event = event.model_copy(update={"entity": key})
    loaded = on_store(store, lambda opened: opened.states.load_states([check_entity(key)]))
    if key not in loaded:
        typer.echo(f"note: no state stored for {key!r}; explaining against an empty state", err=True)
    return event, loaded.get(key) or EntityState(entity=key)


def describe_view(view: EntityStateView) -> list[str]:
    """The readable form of ``view``: a header, the entity's clock and guards, one line per rule."""
    lines = [f"entity {view.entity}  (sha256 {view.entity_hash[:16]}…)"]
    if not view.found:
        lines.append("no state stored")
    else:
        lines.append(f"stored      etag {view.etag}")
    lines.append(f"suppressed  {'yes' if view.suppressed else 'no'}")
    lines.append(f"pending     {view.pending_actions} undelivered action(s)")
    if not view.found:
        return lines
    inventory = view.inventory
    applied = ", ".join(f"partition {p} #{n}" for p, n in sorted(inventory.applied.items())) or "-"
    lines += [
        f"deadline    {format_datetime(view.due_at) if view.due_at else '-'}",
        f"watermark   {inventory.watermark or '-'}",
        f"applied     {applied}; {inventory.recent_event_ids} recent event id(s) remembered",
    ]
    width = max((len(memory.rule_id) for memory in inventory.rules), default=0)
    lines += [f"rule {memory.rule_id.ljust(width)}  {describe_rule(memory)}" for memory in inventory.rules]
    return lines


def describe_rule(memory: RuleMemory) -> str:
    parts = [f"{memory.kind}: {_summary(memory.summary)}"] if memory.kind else []
    if memory.last_fired:
        parts.append(f"cool-down: last fired {memory.last_fired}")
    if memory.firings:
        parts.append(f"{len(memory.firings)} firing(s) in the rate window")
    if memory.held:
        parts.append("re-arm: waiting for the condition to clear")
    return "; ".join(parts) or "-"


def _summary(summary: dict[str, Any]) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in summary.items() if value is not None)
