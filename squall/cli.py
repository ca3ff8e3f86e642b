"""The ``squall`` command line: one Typer app, each command group in ``squall/commands/``."""

from __future__ import annotations

import typer

from squall.commands import demo_cmd, normalize_cmd, rules_cmd, send_cmd, stub_cmd

app = typer.Typer(
    name="squall",
    help="Turn a firehose of product-usage events into marketing actions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (demo_cmd, normalize_cmd, rules_cmd, stub_cmd, send_cmd):
    module.register(app)


def main() -> None:
    app()
