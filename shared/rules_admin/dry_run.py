"""Dry run: evaluate a compiled rule set against posted events, with fresh in-memory entity state.

Each posted item is a canonical event (``id``, ``source``, ``type``, ``time``, ``entity``, ...) or a
record as a producer sends it (an O365 audit record, a CloudEvent, ...), normalized exactly as the
pipeline does; a string item is taken as a raw message body. Events are evaluated in the order
posted, like one Event Hub batch: the clock is the events' own ``time``, cool-downs start empty,
repeated event ids are skipped, and actions are planned (same idempotency keys) but never sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from shared.actions.planning import plan_actions
from shared.events import SOURCE_OPTIONS, Event, NormalizeOptions, RawEvent, SourceOption, normalize_raw_event
from shared.rules import CompiledRuleSet
from shared.rules_admin.errors import RequestInvalid, RequestTooLarge
from shared.rules_admin.models import ActionPreview, EventOutcome, UnplannedMatch
from shared.store.models import EntityState

MAX_DRY_RUN_EVENTS = 1000
#: How posted items are read: "auto" and the source formats as in SQUALL_EVENT_FORMAT, or "canonical".
EVENT_FORMATS: tuple[str, ...] = (*SOURCE_OPTIONS, "canonical")
_CANONICAL_REQUIRED = frozenset({"id", "source", "type", "time", "entity"})
_CANONICAL_FIELDS = frozenset(Event.model_fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class DryRunRequest:
    """``rules`` ``None``: test the stored rule set. ``format``: ``auto`` tells canonical events from
    raw records per item; ``canonical`` or a source format forces one reading for every item."""

    events: list[Any]
    rules: list[Any] | None = None
    format: str = "auto"


def parse_dry_run_request(body: Any) -> DryRunRequest:
    """A JSON array (events) or ``{"events": [...], "rules": [...]?, "format": "auto"?}``."""
    if isinstance(body, list):
        body = {"events": body}
    if not isinstance(body, Mapping):
        raise RequestInvalid("expected a JSON array of events or an object with an 'events' array")
    unknown = sorted(set(body) - {"events", "rules", "format"})
    if unknown:
        raise RequestInvalid(f"unknown field(s) {', '.join(unknown)}; expected events, rules, format")
    events, rules, fmt = body.get("events"), body.get("rules"), body.get("format", "auto")
    if not isinstance(events, list):
        raise RequestInvalid("'events' must be an array of events")
    if len(events) > MAX_DRY_RUN_EVENTS:
        raise RequestTooLarge(f"{len(events)} events posted; a dry run takes at most {MAX_DRY_RUN_EVENTS}")
    if rules is not None and not isinstance(rules, list):
        raise RequestInvalid("'rules' must be an array of rules")
    if fmt not in EVENT_FORMATS:
        raise RequestInvalid(f"'format' must be one of {', '.join(EVENT_FORMATS)}")
    return DryRunRequest(events=events, rules=rules, format=fmt)


def evaluate_events(
    ruleset: CompiledRuleSet, request: DryRunRequest, *, options: NormalizeOptions
) -> tuple[EventOutcome, ...]:
    """One outcome per event (an item that holds several records gives several, same ``index``)."""
    decoded: list[tuple[int, Event | str]] = []
    for index, item in enumerate(request.events):
        decoded.extend((index, result) for result in decode_item(item, request.format, options))
    events = [event for _, event in decoded if isinstance(event, Event)]
    working = {
        event.entity: EntityState(entity=event.entity) for event in events if ruleset.needs_state(event)
    }
    seen: set[str] = set()
    outcomes: list[EventOutcome] = []
    for index, event in decoded:
        if isinstance(event, str):
            outcomes.append(EventOutcome(index=index, rejected=event))
        elif event.id in seen:
            outcomes.append(_described(index, event, duplicate=True))
        else:
            seen.add(event.id)
            outcomes.append(_evaluated(index, event, ruleset, working.get(event.entity)))
    return tuple(outcomes)


def decode_item(item: Any, fmt: str, options: NormalizeOptions) -> list[Event | str]:
    """The events in one posted item, or the reason it was refused (as the pipeline would)."""
    if fmt == "canonical" or (fmt == "auto" and _looks_canonical(item)):
        return [_canonical_event(item)]
    if fmt != "auto":
        options = NormalizeOptions(source=cast(SourceOption, fmt), json_field_map=options.json_field_map)
    body = item.encode("utf-8") if isinstance(item, str) else json.dumps(item).encode("utf-8")
    result = normalize_raw_event(RawEvent(body=body), options)
    return [*result.events, *(rejection.reason for rejection in result.rejections)]


def _looks_canonical(item: Any) -> bool:
    return isinstance(item, Mapping) and _CANONICAL_REQUIRED <= item.keys() <= _CANONICAL_FIELDS


def _canonical_event(item: Any) -> Event | str:
    try:
        return Event.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'event'}: {error['msg']}"
            for error in exc.errors()
        )
        return f"canonical: not a valid canonical event: {problems}"


def _evaluated(index: int, event: Event, ruleset: CompiledRuleSet, state: EntityState | None) -> EventOutcome:
    matches = ruleset.evaluate(event, state)
    planned = plan_actions(matches)
    return _described(
        index,
        event,
        candidates=tuple(ruleset.candidate_ids(event)),
        matched=tuple(match.rule_id for match in matches),
        actions=tuple(
            ActionPreview(
                rule_id=action.rule_id,
                key=action.key,
                kind=str(action.kind),
                contact_key=action.contact_key,
                event_definition_key=action.event_definition_key,
                data=action.data,
            )
            for action in planned.actions
        ),
        not_planned=tuple(UnplannedMatch(f.match.rule_id, f.reason) for f in planned.failures),
    )


def _described(index: int, event: Event, **results: Any) -> EventOutcome:
    return EventOutcome(index=index, event_id=event.id, type=event.type, entity=event.entity, **results)

