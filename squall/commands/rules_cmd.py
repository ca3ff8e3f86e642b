"""``squall rules``: work with rule files — ``validate``, ``explain``, ``test`` (dry run); the store
commands (``push``, ``list``, ``diff``) attach themselves from ``rules_store_cmd``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from shared.actions.destinations import destination_catalog
from shared.events import Event, NormalizeOptions
from shared.events.inputs import jsonl_lines, read_event_body, without_bom
from shared.pipeline.dry_run import CLOCK_MODES, ClockMode, DryRun
from shared.rules import (
    DestinationCatalog,
    JsonTextError,
    LoadedRule,
    RuleDefinition,
    RuleFileError,
    compile_ruleset,
    explain_rules,
    format_datetime,
    load_rule_documents,
    parse_json_text,
    ruleset_size_problem,
    validate_rules,
)
from shared.settings import get_settings
from shared.store.models import EntityState
from squall.cli_errors import EXIT_FAILED
from squall.commands.options import JsonFieldMapOption, JsonOption, normalize_options
from squall.commands.rule_problems import describe_rule_error, rule_error_json
from squall.commands.rules_explain_view import dry_run_summary, render_dry_run, render_explanations
from squall.commands.rules_summary import print_summary

rules_app = typer.Typer(
    name="rules", help="Trigger rules: validate, explain and dry-run rule files (YAML or JSON).", no_args_is_help=True
)
_store_commands_attached = False


def register(app: typer.Typer) -> None:
    """Add the ``rules`` command group to the CLI, with the store commands when they are installed."""
    _attach_store_commands()
    app.add_typer(rules_app, name="rules")


def _attach_store_commands() -> None:
    global _store_commands_attached
    if _store_commands_attached:
        return
    try:
        import squall.commands.rules_store_cmd as rules_store_cmd
    except ModuleNotFoundError as exc:
        if exc.name != "squall.commands.rules_store_cmd":
            raise
        return
    rules_store_cmd.register_on(rules_app)
    _store_commands_attached = True


RulesArgument = Annotated[
    Path, typer.Argument(metavar="RULES", help="A rule file (.yaml/.yml/.json) or a directory of them.")
]


@rules_app.command("validate")
def validate_command(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="A rule file (.yaml/.yml/.json) or a directory of them."),
    ],
    as_json: JsonOption = False,
) -> None:
    """Check every rule: list `rule_id  path  message` per problem (exit 1), or count the valid rules.
    The rules must also fit in one stored rule set (docs/rules.md, "Limits"), as `rules push` needs.
    With --json: {"path", "valid", "rules" (read), "invalid" (rules with a problem), "errors": [{"rule_id",
    "path", "message", "file", "line"}]}; exit codes alike."""
    loaded = _load_rule_documents(path)
    checked = validate_rules([rule.raw for rule in loaded], destinations=configured_destinations())
    errors = [rule_error_json(error, loaded) for error in checked.errors]
    if not errors and (too_large := ruleset_size_problem([rule.raw for rule in loaded])):
        errors.append({"rule_id": None, "path": "$", "message": too_large, "file": str(path), "line": None})
    invalid = len({error.index for error in checked.errors}) if checked.errors else int(bool(errors))
    if as_json:
        document = {"path": str(path), "valid": not errors, "rules": len(loaded), "invalid": invalid,
                    "errors": errors}  # fmt: skip
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        if errors:
            raise typer.Exit(1)
        return
    if checked.errors:
        for error in checked.errors:
            typer.echo(describe_rule_error(error, loaded))
        typer.echo(f"{invalid} of {len(loaded)} rules invalid", err=True)
        raise typer.Exit(1)
    if errors:
        _fail(f"{path}: {errors[0]['message']}", code=1)
    typer.echo(f"{len(checked.rules)} rules valid")


def load_valid_rules(path: Path) -> list[RuleDefinition]:
    """The rules in ``path``, or exit: 2 when it does not exist, 1 with one line per problem."""
    return _valid_rules(_load_rule_documents(path))


def _load_rule_documents(path: Path) -> list[LoadedRule]:
    if not path.exists():
        typer.echo(f"error: {path}: no such file or directory", err=True)
        raise typer.Exit(2)
    try:
        loaded = load_rule_documents(path)
    except RuleFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not loaded:
        _fail(f"{path}: holds no rules (.yaml, .yml or .json rule files)", code=1)
    return loaded


def _valid_rules(loaded: list[LoadedRule]) -> list[RuleDefinition]:
    checked = validate_rules([rule.raw for rule in loaded], destinations=configured_destinations())
    if checked.errors:
        for error in checked.errors:
            typer.echo(describe_rule_error(error, loaded))
        invalid = len({error.index for error in checked.errors})
        typer.echo(f"{invalid} of {len(loaded)} rules invalid", err=True)
        raise typer.Exit(1)
    return checked.rules


def configured_destinations() -> DestinationCatalog:
    """The destinations this environment's settings configure (SQUALL_WEBHOOKS, SQUALL_EVENTBRIDGE; an
    unset one is not checked), or exit 1 with the setting's problem in one line."""
    settings = get_settings()  # a malformed setting is one line naming it (squall.cli_errors)
    try:
        return destination_catalog(settings)
    except ValueError as exc:  # a malformed setting (pydantic's ValidationError is one too)
        first = str(exc).splitlines()[0]
        typer.echo(f"error: cannot read the destination settings: {first}", err=True)
        raise typer.Exit(1) from None


@rules_app.command("explain")
def explain_command(
    rules_path: RulesArgument,
    event_path: Annotated[
        str,
        typer.Argument(
            metavar="EVENT", help="JSON file with one raw record (any format) or canonical event; - for stdin."
        ),
    ],
    rule_id: Annotated[str | None, typer.Option("--rule", help="Explain only the rule with this id.")] = None,
    state_path: Annotated[
        Path | None,
        typer.Option(
            "--state", help='The entity\'s state as JSON, e.g. {"cooldowns": {"RULE": "2024-05-01T08:00:00Z"}}.'
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", metavar="SPEC", help="Explain against the entity's state stored here: memory | "
                     "sqlite:PATH | cosmos (with --entity alone: SQUALL_STORE)."),
    ] = None,
    entity: Annotated[
        str | None,
        typer.Option("--entity", help="Explain the event as this entity's, against its stored state (default: "
                     "the event's entity)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--all", "-a", help="Show the full tree of non-candidate rules too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of trees.")] = False,
    json_field_map: JsonFieldMapOption = None,
) -> None:
    """Show why each rule fires or not for one event: `when`, every condition with the values compared,
    cool-downs (last firing, until). The state is --state FILE, or the one --store/--entity hold.
    Exit 0 whatever the verdict; 1 bad rules/event/state; 2 no such file, store unreachable."""
    if state_path is not None and (store is not None or entity is not None):
        _fail("give the state either as --state FILE or from --store/--entity, not both", code=2)
    rules = load_valid_rules(rules_path)
    if rule_id is not None and all(rule.id != rule_id for rule in rules):
        _fail(f"no rule with id {rule_id!r} in {rules_path}", code=1)
    event = _read_one_event(event_path, normalize_options(json_field_map))
    state = _read_state(state_path, entity=event.entity) if state_path is not None else None
    if store is not None or entity is not None:
        from squall.commands.state_cmd import stored_state_for  # opens a store: only when asked

        event, state = stored_state_for(event, store=store, entity=entity)
    explanations = explain_rules(rules, event, state, only=rule_id)
    actions = {rule.id: rule.actions() for rule in rules}
    if as_json:
        document = {
            "event": _event_summary(event),
            "fired": [e.rule_id for e in explanations if e.fired],
            "rules": [
                {**e.to_json(), "actions": [a.model_dump(mode="json") for a in actions.get(e.rule_id, ())]}
                for e in explanations
            ],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    console = _console()
    console.print(
        f"event {event.id}  {event.source} {event.type}  {format_datetime(event.time)}  entity {event.entity}",
        markup=False,
    )
    render_explanations(console, explanations, verbose=verbose, actions=actions)


@rules_app.command("test")
def test_command(
    rules_path: RulesArgument,
    events_path: Annotated[
        str, typer.Argument(metavar="EVENTS", help="JSONL: raw records (any format) or canonical events; - for stdin.")
    ],
    clock: Annotated[
        str, typer.Option("--clock", help="event: the events' own times (timers on a virtual clock); wall: now.")
    ] = "event",
    as_json: Annotated[bool, typer.Option("--json", help="Print the firings as one JSON array.")] = False,
    json_field_map: JsonFieldMapOption = None,
    fail_on_dead_letters: Annotated[
        bool,
        typer.Option(
            "--fail-on-dead-letters",
            help=f"Exit {EXIT_FAILED} when any record was rejected (the pipeline would dead-letter it).",
        ),
    ] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="Firings per rule per day with a bar chart (--json: a summary object).")
    ] = False,
) -> None:
    """Dry run: replay events through the rules, fire due deadlines, plan actions — and send nothing.
    Prints time, rule, entity, event id, action key, contact key and payload per firing (shadow rules
    marked); rejections on stderr. --summary: firings per rule per day instead."""
    if clock not in CLOCK_MODES:
        raise typer.BadParameter(f"expected one of {', '.join(CLOCK_MODES)}", param_hint="--clock")
    mode: ClockMode = "wall" if clock == "wall" else "event"
    options = normalize_options(json_field_map)
    ruleset = compile_ruleset(load_valid_rules(rules_path))
    run = DryRun(ruleset, clock=mode, options=options)
    for line, body in _lines(events_path):
        run.feed(body, line=line)
    report = run.finish()
    for rejection in report.rejections:
        where = f"line {rejection.line}" + (f" item {rejection.index}" if rejection.index is not None else "")
        typer.echo(f"rejected: {where}: {rejection.reason}", err=True)
    if summary:
        print_summary(report, ruleset.rules, as_json=as_json)
    elif as_json:
        typer.echo(json.dumps([firing.to_json() for firing in report.firings], indent=2, ensure_ascii=False))
        typer.echo(dry_run_summary(report), err=True)
    else:
        render_dry_run(_console(), report)
    if fail_on_dead_letters and report.rejections:
        raise typer.Exit(EXIT_FAILED)


def _console() -> Console:
    """Terminal width on a terminal; wide lines (folded, never cut) when piped or captured."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _fail(message: str, *, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    if not Path(path).exists():
        _fail(f"{path}: no such file or directory", code=2)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}", code=2)
        raise  # unreachable: _fail raises


def _read_one_event(path: str, options: NormalizeOptions) -> Event:
    result = read_event_body(_read_bytes(path).strip(), options)
    if result.rejections:
        _fail(f"{path}: not an event: {result.rejections[0].reason}", code=1)
    if len(result.events) != 1:
        _fail(f"{path}: holds {len(result.events)} events; explain takes exactly one", code=1)
    return result.events[0]


def _read_state(path: Path, *, entity: str) -> EntityState:
    """``{"cooldowns": {...}, ...}`` (the state's data) or ``{"entity": ..., "data": {...}}``."""
    try:
        document: Any = parse_json_text(without_bom(_read_bytes(str(path))))
    except JsonTextError as exc:
        _fail(f"{path}: invalid JSON state: {exc}", code=1)
    if isinstance(document, dict) and isinstance(document.get("data"), dict) and "entity" in document:
        document = document["data"]
    if not isinstance(document, dict):
        _fail(f"{path}: the state must be a JSON object", code=1)
    return EntityState(entity=entity, data=document)


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    if path != "-" and not Path(path).exists():
        _fail(f"{path}: no such file or directory", code=2)
    try:
        stream = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
        with stream:
            yield from jsonl_lines(stream)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}", code=2)


def _event_summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": format_datetime(event.time),
        "entity": event.entity,
        "tenant": event.tenant,
    }
