"""One line on stderr for every user mistake, and the CLI's exit codes.

    0  done
    1  the command ran and something failed or was refused (invalid rules, a destination that
       stayed down, dead letters with --fail-on-dead-letters)
    2  the command could not start: a usage error, a missing or malformed setting or option, a
       file or folder that cannot be read

A command reports a mistake itself with ``fail("what to fix", code=EXIT_USAGE)``. What it lets
escape is caught by ``run_app`` (``squall.cli.main`` runs every command through it): Typer's usage
errors and the known user mistakes in ``_known_errors`` — a malformed setting, a store or
destination setting, a rule file, a file that cannot be read — become one line ``error: ...``
with their exit code, so a new command gets this by raising the domain's own exceptions; a command
module whose domain has another kind of user mistake adds it once, at import:
``register_user_error(SuppressionListFull, code=EXIT_FAILED)``. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer

# Typer 0.29 (pinned) carries its own copy of click; its usage errors are these classes.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

EXIT_FAILED = 1
EXIT_USAGE = 2

_registered: list[tuple[tuple[type[BaseException], ...], int]] = []


def register_user_error(*kinds: type[BaseException], code: int) -> None:
    """Report these exceptions, when a command lets them escape, as one line with exit ``code``."""
    _registered.append((kinds, code))


def fail(message: str, *, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` as one line on stderr and end the command with ``code``."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def one_line(text: str) -> str:
    """``text`` folded onto one line: its lines joined with ``; ``."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def run_app(app: Callable[..., Any], *, prog_name: str) -> NoReturn:
    """Run the Typer ``app`` and exit: usage errors and known mistakes as one line, see module doc."""
    try:
        code = app(standalone_mode=False, prog_name=prog_name)
    except NoArgsIsHelpError as bare:  # `squall rules`: show the group's help
        typer.echo(bare.ctx.get_help() if bare.ctx is not None else bare.format_message(), err=True)
        code = EXIT_USAGE
    except UsageError as usage:
        hint = f" (see '{usage.ctx.command_path} --help')" if usage.ctx is not None else ""
        typer.echo(f"error: {one_line(usage.format_message())}{hint}", err=True)
        code = usage.exit_code
    except ClickException as problem:
        typer.echo(f"error: {one_line(problem.format_message())}", err=True)
        code = problem.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        code = EXIT_FAILED
    except Exception as exc:
        known = known_error(exc)
        if known is None:
            raise
        message, code = known
        typer.echo(f"error: {message}", err=True)
    sys.exit(code if isinstance(code, int) else 0)


def known_error(exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code for a known user mistake, ``None`` for anything else."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.title == "Settings":  # shared/settings.py, from the env
        return "; ".join(_setting_problem(error) for error in exc.errors()), EXIT_USAGE
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot read {exc.filename}: {exc.strerror or exc}", EXIT_USAGE
    for kinds, code in [*_registered, *_known_errors()]:
        if isinstance(exc, kinds):
            return one_line(str(exc)) or type(exc).__name__, code
    return None


def _setting_problem(error: Any) -> str:
    setting = ".".join(str(part) for part in error["loc"])
    return f"invalid setting {setting}={error.get('input')!r}: {error['msg']}"


def _known_errors() -> list[tuple[tuple[type[BaseException], ...], int]]:
    """Exception types that mean a user mistake; imported here, on the error path only."""
    from shared.actions.errors import EventBridgeConfigError, MarketingCloudConfigError, WebhookConfigError
    from shared.rules import InvalidRuleSet, RuleFileError
    from shared.store.errors import StoreError, StoreUnavailable
    from shared.wiring import ConfigurationError
    from squall.local_runtime import InvalidRules, NoStoredRules

    return [
        ((StoreUnavailable, RuleFileError, InvalidRules, InvalidRuleSet), EXIT_FAILED),
        (
            (StoreError, ConfigurationError, MarketingCloudConfigError, WebhookConfigError, EventBridgeConfigError,
             NoStoredRules),
            EXIT_USAGE,
        ),
    ]  # fmt: skip
