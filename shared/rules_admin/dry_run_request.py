"""Dry run over posted events: ``shared.pipeline.dry_run.DryRun`` (the engine ``squall rules test``
uses), with each outcome tied back to the posted item it came from.

Each posted item is a canonical event (``id``, ``source``, ``type``, ``time``, ``entity``, ...) or a
record as a producer sends it (an O365 audit record, a CloudEvent, an array of them), normalized
as the pipeline does; a string item is taken as a raw message body. Events are evaluated in the
order posted with fresh in-memory entity state, repeated ids are skipped, deadlines fire on the
virtual clock, and actions are planned (same idempotency keys) but never sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from shared.events import SOURCE_OPTIONS, Event, NormalizeOptions, RawEvent, SourceOption, normalize_raw_event
from shared.events.inputs import read_event_body
from shared.pipeline.dry_run import CLOCK_MODES, ClockMode, DryRun, DryRunFiring
from shared.rules import CompiledRuleSet, format_datetime
from shared.rules_admin.errors import RequestInvalid, RequestTooLarge
from shared.rules_admin.models import EventOutcome, FiringOutcome

MAX_DRY_RUN_EVENTS = 1000
#: How posted items are read: "auto" and the source formats as in SQUALL_EVENT_FORMAT, or "canonical".
EVENT_FORMATS: tuple[str, ...] = (*SOURCE_OPTIONS, "canonical")
_REQUEST_FIELDS = frozenset({"events", "rules", "format", "clock"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DryRunRequest:
    """``rules`` ``None``: test the stored rule set. ``format``: see ``EVENT_FORMATS``. ``clock``:
    ``event`` (the events' own times; deadlines on a virtual clock) or ``wall`` (now)."""

    events: list[Any]
    rules: list[Any] | None = None
    format: str = "auto"
    clock: ClockMode = "event"


def parse_dry_run_request(body: Any) -> DryRunRequest:
    """A JSON array (events) or ``{"events": [...], "rules"?: [...], "format"?: ..., "clock"?: ...}``."""
    if isinstance(body, list):
        body = {"events": body}
    if not isinstance(body, Mapping):
        raise RequestInvalid("expected a JSON array of events or an object with an 'events' array")
    unknown = sorted(set(body) - _REQUEST_FIELDS)
    if unknown:
        raise RequestInvalid(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_REQUEST_FIELDS))}")
    events, rules = body.get("events"), body.get("rules")
    fmt, clock = body.get("format", "auto"), body.get("clock", "event")
    if not isinstance(events, list):
        raise RequestInvalid("'events' must be an array of events")
    if len(events) > MAX_DRY_RUN_EVENTS:
        raise RequestTooLarge(f"{len(events)} events posted; a dry run takes at most {MAX_DRY_RUN_EVENTS}")
    if rules is not None and not isinstance(rules, list):
        raise RequestInvalid("'rules' must be an array of rules")
    if fmt not in EVENT_FORMATS:
        raise RequestInvalid(f"'format' must be one of {', '.join(EVENT_FORMATS)}")
    if clock not in CLOCK_MODES:
        raise RequestInvalid(f"'clock' must be one of {', '.join(CLOCK_MODES)}")
    return DryRunRequest(events=events, rules=rules, format=fmt, clock=clock)


@dataclass(frozen=True, slots=True)
class EvaluatedEvents:
    outcomes: tuple[EventOutcome, ...]
    ended_at: str | None


def evaluate_events(ruleset: CompiledRuleSet, request: DryRunRequest, *, options: NormalizeOptions) -> EvaluatedEvents:
    """Replay the posted events through ``ruleset``; one outcome per event or refused item."""
    run = DryRun(ruleset, clock=request.clock, options=options)
    fed: list[tuple[int, Event | str, bool]] = []  # (index, event or rejection reason, duplicate)
    seen: set[str] = set()
    for index, item in enumerate(request.events):
        for decoded in decode_item(item, request.format, options):
            if isinstance(decoded, Event):
                fed.append((index, decoded, decoded.id in seen))
                seen.add(decoded.id)
                run.feed_event(decoded)
            else:
                fed.append((index, decoded, False))
    report = run.finish()
    by_event: dict[str, list[DryRunFiring]] = {}
    for firing in report.firings:
        by_event.setdefault(firing.event_id, []).append(firing)
    outcomes = tuple(_outcome(index, decoded, duplicate, by_event) for index, decoded, duplicate in fed)
    ended = format_datetime(report.ended_at) if report.ended_at is not None else None
    return EvaluatedEvents(outcomes, ended)


def decode_item(item: Any, fmt: str, options: NormalizeOptions) -> list[Event | str]:
    """The events in one posted item, or the reasons its records were refused (as the pipeline words them)."""
    if fmt == "canonical":
        return [_canonical_event(item)]
    body = item.encode("utf-8") if isinstance(item, str) else json.dumps(item).encode("utf-8")
    if fmt == "auto":
        result = read_event_body(body, options)
    else:
        forced = NormalizeOptions(source=cast(SourceOption, fmt), json_field_map=options.json_field_map)
        result = normalize_raw_event(RawEvent(body=body), forced)
    return [*result.events, *(rejection.reason for rejection in result.rejections)]


def _canonical_event(item: Any) -> Event | str:
    try:
        return Event.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'event'}: {error['msg']}" for error in exc.errors()
        )
        return f"canonical: not a valid canonical event: {problems}"


def _outcome(
    index: int, decoded: Event | str, duplicate: bool, by_event: dict[str, list[DryRunFiring]]
) -> EventOutcome:
    if isinstance(decoded, str):
        return EventOutcome(index=index, rejected=decoded)
    firings = () if duplicate else tuple(_firing(f) for f in by_event.get(decoded.id, ()))
    return EventOutcome(
        index=index,
        event_id=decoded.id,
        type=decoded.type,
        entity=decoded.entity,
        matched=tuple(f.rule_id for f in firings if f.trigger == "event"),
        firings=firings,
        duplicate=duplicate,
    )


def _firing(firing: DryRunFiring) -> FiringOutcome:
    return FiringOutcome(
        rule_id=firing.rule_id,
        time=format_datetime(firing.time),
        trigger=firing.trigger,
        action_key=firing.action_key,
        contact_key=firing.contact_key,
        error=firing.error,
    )
