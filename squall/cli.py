"""The ``squall`` command line: one Typer app, each command group in ``squall/commands/``."""

from __future__ import annotations

import logging
import os
import sys

import typer
from pydantic import ValidationError

from squall.commands import (
    backfill_cmd,
    bench_cmd,
    deadletter_cmd,
    deliveries_cmd,
    demo_cmd,
    normalize_cmd,
    rules_cmd,
    send_cmd,
    stub_cmd,
)

app = typer.Typer(
    name="squall",
    help="Turn a firehose of product-usage events into marketing actions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (
    demo_cmd, normalize_cmd, rules_cmd, stub_cmd, send_cmd, deadletter_cmd, bench_cmd, backfill_cmd, deliveries_cmd
):
    module.register(app)


def main() -> None:
    # Per-event warnings (dead letters, rule type surprises) are summed up in the reports; show
    # them only when asked, e.g. SQUALL_LOG_LEVEL=WARNING.
    logging.basicConfig(
        level=os.environ.get("SQUALL_LOG_LEVEL", "ERROR").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        app()
    except ValidationError as invalid:  # a setting from the environment (shared/settings.py) is malformed
        if invalid.title != "Settings":
            raise
        for error in invalid.errors():
            setting = ".".join(str(part) for part in error["loc"])
            print(f"invalid setting {setting}={error.get('input')!r}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
