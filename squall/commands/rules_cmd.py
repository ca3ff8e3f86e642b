"""``squall rules``: work with rule files. ``validate`` now; ``explain``, ``test``, ``push``, ``list``
and ``diff`` will join it as sub-commands of the same group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shared.rules import RuleError, RuleFileError, validate_rules
from shared.rules.loader import LoadedRule, load_rule_documents

rules_app = typer.Typer(name="rules", help="Trigger rules: validate rule files (YAML or JSON).",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``rules`` command group to the CLI."""
    app.add_typer(rules_app, name="rules")


@rules_app.command("validate")
def validate_command(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="A rule file (.yaml/.yml/.json) or a directory of them."),
    ],
) -> None:
    """Check every rule: list `rule_id  path  message` per problem (exit 1), or count the valid rules."""
    if not path.exists():
        typer.echo(f"error: {path}: no such file or directory", err=True)
        raise typer.Exit(2)
    try:
        loaded = load_rule_documents(path)
    except RuleFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    checked = validate_rules([rule.raw for rule in loaded])
    if checked.errors:
        for error in checked.errors:
            typer.echo(_describe(error, loaded))
        invalid = len({error.index for error in checked.errors})
        typer.echo(f"{invalid} of {len(loaded)} rules invalid", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(checked.rules)} rules valid")


def _describe(error: RuleError, loaded: list[LoadedRule]) -> str:
    line = f"{error.rule_id or '-'}  {error.path}  {error.message}"
    if error.index is None:
        return line
    origin = loaded[error.index]
    where = f"{origin.file}:{origin.line}" if origin.line else str(origin.file)
    return f"{line}  ({where})"
