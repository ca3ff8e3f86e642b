"""The ``squall`` command line: one Typer app, each command group in ``squall/commands/``.

Every command runs through ``squall.cli_errors.run_app``: a user mistake is one line on stderr and
exit code 2 (cannot start) or 1 (failed), never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from squall.cli_errors import run_app
from squall.commands import (
    backfill_cmd,
    bench_cmd,
    deadletter_cmd,
    deliveries_cmd,
    demo_cmd,
    normalize_cmd,
    rules_cmd,
    send_cmd,
    state_cmd,
    stub_cmd,
    suppress_cmd,
)

app = typer.Typer(
    name="squall",
    help="Turn a firehose of product-usage events into marketing actions.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

for module in (
    demo_cmd, normalize_cmd, rules_cmd, stub_cmd, send_cmd, deadletter_cmd, bench_cmd, backfill_cmd, deliveries_cmd
):
    module.register(app)
for module in (state_cmd, suppress_cmd):  # per-entity tools (issue 14)
    module.register(app)


def _print_version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"squall {version('squall')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("squall (not installed: pip install -e .)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    pass


def _honour_named_completion_shell(argv: list[str]) -> None:
    """``squall --show-completion zsh``: Typer's default completion options detect the shell from the
    parent processes and ignore a named one (no shell among them: "Shell  not supported."). Typer's
    variant that takes the shell as the option's value is chosen by this variable, read when the
    command is built; set it only when a shell is named, so the bare flags keep detecting. A name
    that is no shell Typer knows (bash, zsh, fish, powershell, pwsh) is then refused, not ignored."""
    for flag in ("--show-completion", "--install-completion"):
        if flag in argv:
            following = argv[argv.index(flag) + 1 : argv.index(flag) + 2]
            if following and not following[0].startswith("-"):  # a shell Typer does not know is refused
                os.environ["_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"] = "1"


def main() -> None:
    _honour_named_completion_shell(sys.argv[1:])
    # Per-event warnings (dead letters, rule type surprises) are summed up in the reports; show
    # them only when asked, e.g. SQUALL_LOG_LEVEL=WARNING.
    logging.basicConfig(
        level=os.environ.get("SQUALL_LOG_LEVEL", "ERROR").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    run_app(app, prog_name="squall")
