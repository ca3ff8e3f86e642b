"""``squall.cli_errors.run_app``: what a command lets escape becomes one line and an exit code."""

from __future__ import annotations

from typing import Annotated

import pytest
import typer

from shared.store.errors import StoreError
from squall.cli_errors import EXIT_FAILED, EXIT_USAGE, register_user_error, run_app


class QuotaExceeded(Exception):
    """A new command's own kind of user mistake."""


def app_raising(error: BaseException) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def act(count: Annotated[int, typer.Option(min=1)] = 1) -> None:
        raise error

    return app


def run(app: typer.Typer, *args: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.argv", ["squall", *args])
    with pytest.raises(SystemExit) as exited:
        run_app(app, prog_name="squall")
    return int(exited.value.code or 0)


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (StoreError("SQUALL_STORE='x' is not a store"), EXIT_USAGE, "error: SQUALL_STORE='x' is not a store"),
        (FileNotFoundError(2, "No such file or directory", "events.jsonl"), EXIT_USAGE,
         "error: cannot read events.jsonl: No such file or directory"),
    ],
)  # fmt: skip
def test_a_known_mistake_is_one_line_with_its_exit_code(
    error: BaseException, code: int, line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(app_raising(error), monkeypatch=monkeypatch) == code
    assert capsys.readouterr().err == line + "\n"


def test_a_usage_error_is_one_line_naming_the_option_and_the_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(app_raising(RuntimeError()), "--count", "0", monkeypatch=monkeypatch) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--count" in err and "(see 'squall --help')" in err


def test_a_registered_error_of_a_new_command_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    register_user_error(QuotaExceeded, code=EXIT_FAILED)
    app = app_raising(QuotaExceeded("10,000 suppressed entities: remove some\nfirst"))
    assert run(app, monkeypatch=monkeypatch) == EXIT_FAILED
    assert capsys.readouterr().err == "error: 10,000 suppressed entities: remove some; first\n"


def test_an_unknown_exception_is_a_bug_and_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ZeroDivisionError):
        run(app_raising(ZeroDivisionError("bug")), monkeypatch=monkeypatch)
