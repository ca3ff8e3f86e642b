"""``squall rules push|list|diff``: the stored rule set (SQLite or Cosmos DB) against rule files.

    squall rules diff rules/                 # what a push would change; exit 1 when something would
    squall rules push rules/ --store cosmos  # validate all, then store them as one new version
    squall rules push rules/ --prune         # ... and remove stored rules that are not in rules/
    squall rules list --json

Exit status: push 0 stored or already so, 1 invalid rules or a refused push (no rules; removals
without --prune): nothing stored; diff 0 no changes, 1 changes; list 0. All: 2 when they cannot run
(path not found, bad option, store unreachable). ``history`` and ``rollback`` live in
``rules_versions_cmd``.

With --json each prints one JSON object on stdout (fields in docs/rules-api.md, "The CLI's JSON"),
the same exit codes, and its one-line error on stderr.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.rules import LoadedRule, RuleFileError, load_rule_documents
from shared.rules_admin import (
    PushRefused,
    RequestInvalid,
    RuleSetAdmin,
    RuleSetDiff,
    RuleSetView,
    RulesInvalid,
    VersionNotFound,
)
from shared.settings import get_settings
from shared.store import StoreError
from shared.wiring import open_store
from squall.commands.options import JsonOption
from squall.commands.rule_problems import describe_rule_error, rule_error_json
from squall.commands.rules_cmd import configured_destinations

EXIT_INVALID = 1
EXIT_CANNOT_RUN = 2

StoreOption = Annotated[
    str | None,
    typer.Option("--store", metavar="SPEC", help="memory | sqlite:PATH | cosmos (default: SQUALL_STORE)."),
]
RulesetOption = Annotated[
    str | None, typer.Option("--ruleset", metavar="NAME", help="Rule set name (default: SQUALL_RULESET).")
]
DirArgument = Annotated[
    Path, typer.Argument(metavar="DIR", help="A directory of rule files (.yaml/.yml/.json), or one file.")
]


def register_on(rules_app: typer.Typer) -> None:
    """Add ``push``, ``list``, ``diff``, ``history`` and ``rollback`` to the ``squall rules`` group."""
    from squall.commands import rules_versions_cmd  # it imports this module's helpers

    rules_app.command("push")(push_command)
    rules_app.command("list")(list_command)
    rules_app.command("diff")(diff_command)
    rules_versions_cmd.register_on(rules_app)


def push_command(
    directory: DirArgument,
    store: StoreOption = None,
    ruleset: RulesetOption = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also remove stored rules that are not in DIR (refused without it).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Validate every rule in DIR, then store them as the new version of the rule set.

    With --prune the stored set becomes exactly the rules in DIR; without it a push that would
    remove stored rules is refused (they are listed). An empty DIR is always refused. Nothing is
    stored when a rule is invalid or the push is refused (exit 1), or when nothing changed (exit 0).
    """
    loaded = _load(directory, exit_invalid=EXIT_INVALID)
    raw = [rule.raw for rule in loaded]
    outcome = _with_admin(
        store, ruleset, lambda admin: admin.push(raw, prune=prune), loaded=loaded, source=str(directory),
        as_json=as_json,
    )  # fmt: skip
    if as_json:
        document = {"ruleset": outcome.ruleset, "version": outcome.version, "changed": outcome.changed,
                    "diff": outcome.diff.ids()}  # fmt: skip
        typer.echo(json.dumps(document, indent=2))
        return
    _echo_diff(outcome.diff)
    if outcome.changed:
        typer.echo(f"rule set {outcome.ruleset!r} version {outcome.version} stored ({outcome.diff.summary()})")
    else:
        typer.echo(f"rule set {outcome.ruleset!r} unchanged at version {outcome.version}")


def diff_command(
    directory: DirArgument, store: StoreOption = None, ruleset: RulesetOption = None, as_json: JsonOption = False
) -> None:
    """Show what `squall rules push DIR` would change: + added, - removed, ~ changed (fields)."""
    loaded = _load(directory, exit_invalid=EXIT_CANNOT_RUN)
    raw = [rule.raw for rule in loaded]
    diff = _with_admin(
        store, ruleset, lambda admin: admin.preview_replace(raw), loaded=loaded, exit_invalid=EXIT_CANNOT_RUN,
        as_json=as_json,
    )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(_diff_json(diff, ruleset=ruleset or get_settings().ruleset), indent=2))
        if diff.has_changes:
            raise typer.Exit(1)
        return
    _echo_diff(diff)
    if diff.has_changes:
        typer.echo(diff.summary())
        raise typer.Exit(1)
    typer.echo(f"no changes ({len(diff.unchanged)} rules unchanged)")


def list_command(
    store: StoreOption = None,
    ruleset: RulesetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored rule set as JSON.")] = False,
) -> None:
    """List the rules of the newest stored version, in evaluation order (priority, then id)."""
    view = _with_admin(store, ruleset, lambda admin: admin.current())
    if as_json:
        typer.echo(json.dumps({"ruleset": view.ruleset, "version": view.version, "rules": view.rules}, indent=2))
        return
    if view.version == 0:
        typer.echo(f"rule set {view.ruleset!r}: nothing stored yet (version 0)")
        return
    typer.echo(f"rule set {view.ruleset!r} version {view.version}: {len(view.rules)} rules")
    _echo_table(view)


def _load(directory: Path, *, exit_invalid: int) -> list[LoadedRule]:
    if not directory.exists():
        typer.echo(f"error: {directory}: no such file or directory", err=True)
        raise typer.Exit(EXIT_CANNOT_RUN)
    try:
        return load_rule_documents(directory)
    except RuleFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_invalid) from None


def _with_admin[T](
    store: str | None,
    ruleset: str | None,
    act: Callable[[RuleSetAdmin], Awaitable[T]],
    *,
    loaded: Sequence[LoadedRule] = (),
    exit_invalid: int = EXIT_INVALID,
    source: str | None = None,
    as_json: bool = False,
) -> T:
    """Run ``act`` on the rule set's admin; store and input problems become messages and exit codes."""
    settings = get_settings()
    spec, name = store or settings.store, ruleset or settings.ruleset
    destinations = configured_destinations()

    async def run() -> T:
        opened = await open_store(spec, settings)
        try:
            return await act(RuleSetAdmin(opened.rules, name, destinations=destinations))
        finally:
            await opened.close()

    try:
        return asyncio.run(run())
    except RulesInvalid as invalid:
        count = len({error.index for error in invalid.errors})
        if as_json:
            errors = [rule_error_json(error, list(loaded)) for error in invalid.errors]
            typer.echo(json.dumps({"valid": False, "invalid": count, "errors": errors}, indent=2))
        for error in () if as_json else invalid.errors:
            typer.echo(describe_rule_error(error, loaded))
        of_total = f" of {len(loaded)}" if loaded else ""
        typer.echo(f"{count}{of_total} rules invalid; nothing stored", err=True)
        raise typer.Exit(exit_invalid) from None
    except (PushRefused, VersionNotFound) as exc:
        if as_json:
            typer.echo(json.dumps({"refused": str(exc), "removed": list(getattr(exc, "removed", ()))}, indent=2))
        for rule_id in () if as_json else getattr(exc, "removed", ()):
            typer.echo(f"- {rule_id}")
        where = f"{source}: " if source else ""
        typer.echo(f"error: {where}{exc}; nothing stored", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except (StoreError, RequestInvalid) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_RUN) from None


def _diff_json(diff: RuleSetDiff, *, ruleset: str) -> dict[str, Any]:
    return {
        "ruleset": ruleset,
        "has_changes": diff.has_changes,
        "added": list(diff.added),
        "removed": list(diff.removed),
        "changed": [{"rule_id": change.rule_id, "fields": list(change.fields)} for change in diff.changed],
        "unchanged": len(diff.unchanged),
    }


def _echo_diff(diff: RuleSetDiff) -> None:
    for rule_id in diff.added:
        typer.echo(f"+ {rule_id}")
    for rule_id in diff.removed:
        typer.echo(f"- {rule_id}")
    for change in diff.changed:
        typer.echo(f"~ {change.rule_id}  ({', '.join(change.fields)})")


def _echo_table(view: RuleSetView) -> None:
    rows = [_row(rule) for rule in sorted(view.rules, key=_evaluation_order)]
    header = ("ID", "ENABLED", "PRIORITY", "TYPES", "ACTION")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[-1]]).rstrip())


def _evaluation_order(rule: dict[str, Any]) -> tuple[int, str]:
    priority = rule.get("priority", 0)
    return (-priority if isinstance(priority, int) else 0, str(rule.get("id", "")))


def _row(rule: dict[str, Any]) -> tuple[str, str, str, str, str]:
    when = rule.get("when") or {}
    action = rule.get("action") or {}
    types = ",".join(when.get("types") or ["*"])
    source = when.get("source")
    return (
        str(rule.get("id", "-")),
        "no" if rule.get("enabled") is False else "yes",
        str(rule.get("priority", 0)),
        f"{source}:{types}" if source else types,
        f"{action.get('kind', '-')} {action.get('event_definition_key', '')}".strip(),
    )
