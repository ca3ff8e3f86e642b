"""``squall rules history|rollback``: the stored versions of a rule set, and storing an old one again.

    squall rules history                     # versions, newest first: when, how many rules, what changed
    squall rules rollback 3                  # store version 3's rules again as the newest version
    squall rules history --json

Nothing is overwritten: a rollback is a new version (validated like any push), so it can itself be
rolled back. Exit status: 0 listed / stored or already so; 1 no such version or its rules are no
longer valid (nothing stored); 2 cannot run (bad option, store unreachable).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from shared.rules_admin import MAX_HISTORY, RuleSetHistory, VersionSummary
from squall.commands.rules_store_cmd import RulesetOption, StoreOption, _echo_diff, _with_admin

JsonOption = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]


def register_on(rules_app: typer.Typer) -> None:
    """Add ``history`` and ``rollback`` to the ``squall rules`` group."""
    rules_app.command("history")(history_command)
    rules_app.command("rollback")(rollback_command)


def history_command(
    store: StoreOption = None,
    ruleset: RulesetOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_HISTORY, help="How many versions, newest first.")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """List the stored versions, newest first: when, how many rules, which were added/removed/changed."""
    history = _with_admin(store, ruleset, lambda admin: admin.history(limit=limit))
    if as_json:
        typer.echo(json.dumps(asdict(history), indent=2))
        return
    if not history.versions:
        typer.echo(f"rule set {history.ruleset!r}: nothing stored yet (version 0)")
        return
    _echo_history(history)


def rollback_command(
    version: Annotated[int, typer.Argument(metavar="N", help="The version whose rules to store again.")],
    store: StoreOption = None,
    ruleset: RulesetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store the rules of version N again as the newest version (a new version; nothing is overwritten)."""
    outcome = _with_admin(store, ruleset, lambda admin: admin.rollback(version))
    if as_json:
        document = {"ruleset": outcome.ruleset, "version": outcome.version, "restored_version": version,
                    "changed": outcome.changed, "diff": outcome.diff.ids()}  # fmt: skip
        typer.echo(json.dumps(document, indent=2))
        return
    _echo_diff(outcome.diff)
    if outcome.changed:
        typer.echo(
            f"rule set {outcome.ruleset!r} version {outcome.version} stored: the rules of version {version} "
            f"({outcome.diff.summary()})"
        )
    else:
        typer.echo(
            f"rule set {outcome.ruleset!r} version {outcome.version} already holds the rules of version "
            f"{version}; nothing stored"
        )


def _echo_history(history: RuleSetHistory) -> None:
    typer.echo(f"rule set {history.ruleset!r}: newest version {history.version}")
    rows = [("VERSION", "STORED", "RULES", "CHANGES")] + [_row(v) for v in history.versions]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]))


def _row(summary: VersionSummary) -> tuple[str, str, str, str]:
    changes = [
        *(f"+{rule_id}" for rule_id in summary.added),
        *(f"-{rule_id}" for rule_id in summary.removed),
        *(f"~{rule_id}" for rule_id in summary.changed),
    ]
    stored = (summary.created_at or "-")[:19].replace("T", " ")
    return (str(summary.version), stored, str(summary.rules), " ".join(changes) or "(no changes)")
