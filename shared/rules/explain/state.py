"""The stateful parts of a rule as the entity's state shows them: window contents and aggregate,
sequence progress, absence deadline, machine state, and the rate limit / re-arm that suppress it.

Reads the layout of ``stateful/memory.py`` (its slot TypedDicts and key constants, times in ms)
through the rule's compiled pattern, so it shows what the engine keeps. ``before`` is the state the
event found, ``after`` the state the engine left (evaluated on a copy; the caller's is untouched).
"""

from __future__ import annotations

from typing import Any, cast

from shared.events.models import Event
from shared.rules.definitions.conditions import EventFilter
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.explain.conditions import FieldReader, explain_condition
from shared.rules.explain.models import StateExplanation
from shared.rules.language.durations import format_duration
from shared.rules.language.fields import MISSING, STATE_TOP, FieldPath
from shared.rules.language.times import format_datetime, from_ms, ms_value, span_ms, to_ms
from shared.rules.stateful.memory import (
    ABSENCE_DUE,
    ABSENCE_EVENT,
    FIRED_KEY,
    HELD_KEY,
    MACHINE_SINCE,
    MACHINE_STATE,
    SEQUENCE_RUNS,
    SLIDING_TIMES,
    AbsenceSlot,
    MachineSlot,
    SequenceSlot,
    SlidingWindowSlot,
    peek_slot,
)
from shared.rules.stateful.pattern import type_matches
from shared.rules.stateful.program import RuleProgram
from shared.store.models import EntityState

#: Window entries listed in an explanation (the newest); the count and aggregate cover all of them.
MAX_LISTED_TIMES = 10


def explain_stateful_parts(
    rule: RuleDefinition,
    event: Event,
    *,
    program: RuleProgram | None,
    before: EntityState,
    after: EntityState,
    read: FieldReader,
) -> tuple[StateExplanation, ...]:
    """One entry per stateful feature of ``rule`` besides its cool-down (explained on its own)."""
    parts: list[StateExplanation] = []
    if program is not None and program.pattern is not None:
        fingerprint = program.pattern.fingerprint
        slot_before = peek_slot(before, rule.id, fingerprint) or {}
        slot_after = peek_slot(after, rule.id, fingerprint) or {}
        if rule.window is not None:
            parts.append(_window(rule, program, event, slot_after))
        elif rule.sequence is not None:
            parts.append(_sequence(rule, event, cast(SequenceSlot, slot_before), read))
        elif rule.absence is not None:
            parts.append(_absence(rule, event, cast(AbsenceSlot, slot_before), cast(AbsenceSlot, slot_after), read))
        elif rule.machine is not None:
            parts.append(_machine(rule.machine.initial, cast(MachineSlot, slot_before), cast(MachineSlot, slot_after)))
    parts.extend(_suppression(rule, event, before))
    return tuple(parts)


def _window(rule: RuleDefinition, program: RuleProgram, event: Event, slot: dict[str, Any]) -> StateExplanation:
    spec = rule.window
    assert spec is not None and program.pattern is not None
    current = program.pattern.read(slot or None, FieldPath(f"state.{rule.id}", STATE_TOP, (rule.id,)), event.time)
    value = None if current is MISSING else current
    end = to_ms(event.time)
    details: dict[str, Any] = {
        "aggregate": spec.aggregate,
        "field": spec.field,
        "kind": spec.kind,
        "size": format_duration(spec.size),
        "op": spec.op,
        "value": spec.value,
        "current": value,
    }
    if spec.kind == "sliding":
        start = end - span_ms(spec.size)
        entries = cast(SlidingWindowSlot, slot).get(SLIDING_TIMES, [])
        times = [t for t in entries if type(t) is int and start < t <= end]
        details.update(start=_iso(start), end=_iso(end), events=len(times))
        details["times"] = [_iso(t) for t in times[-MAX_LISTED_TIMES:]]
        span = f"({_iso(start)}, {_iso(end)}]"
    else:
        bucket = end - end % span_ms(spec.size)
        details.update(start=_iso(bucket), end=_iso(bucket + span_ms(spec.size)))
        span = f"[{details['start']}, {details['end']})"
    met = value is not None and program.pattern is not None and _holds(spec.op, value, spec.value)
    summary = (
        f"{spec.aggregate}{f' of {spec.field}' if spec.field else ''} over {spec.kind} {details['size']} {span}"
        f" = {_number(value)}; fires when {spec.op} {_number(spec.value)}: {'met' if met else 'not met'}"
    )
    return StateExplanation("window", summary, details)


def _holds(op: str, left: Any, right: Any) -> bool:
    return {
        "eq": left == right, "ne": left != right, "lt": left < right,
        "le": left <= right, "gt": left > right, "ge": left >= right,
    }[op]  # fmt: skip


def _sequence(rule: RuleDefinition, event: Event, slot: SequenceSlot, read: FieldReader) -> StateExplanation:
    spec = rule.sequence
    assert spec is not None
    within = span_ms(spec.within)
    raw = slot.get(SEQUENCE_RUNS)
    stored: list[Any] = raw if isinstance(raw, list) else []
    now = to_ms(event.time)
    partial = [
        {"steps_done": done, "started": _iso(start), "complete_by": _iso(start + within)}
        for done, start in enumerate(stored, 1)
        if type(start) is int and now - start <= within
    ]
    matching = [number for number, step in enumerate(spec.steps, 1) if filter_takes(step, event, read)]
    details = {"steps": len(spec.steps), "within": format_duration(spec.within), "partial": partial}
    details["event_matches_steps"] = matching
    progress = (
        f"furthest partial match: {partial[-1]['steps_done']} of {len(spec.steps)} steps,"
        f" started {partial[-1]['started']}, to complete by {partial[-1]['complete_by']}"
        if partial
        else "no partial match before this event"
    )
    steps = f"this event matches step {', '.join(map(str, matching))}" if matching else "this event matches no step"
    return StateExplanation("sequence", f"{progress}; {steps}", details)


def _absence(
    rule: RuleDefinition, event: Event, before: AbsenceSlot, after: AbsenceSlot, read: FieldReader
) -> StateExplanation:
    spec = rule.absence
    assert spec is not None
    lateness = span_ms(rule.allowed_lateness) if rule.allowed_lateness else 0
    sides = (("after", spec.after), ("missing", spec.missing))
    roles = [name for name, side in sides if filter_takes(side, event, read)]
    details: dict[str, Any] = {"within": format_duration(spec.within), "event_is": roles}
    for label, slot in (("before", before), ("after", after)):
        due = ms_value(slot.get(ABSENCE_DUE))
        snapshot = slot.get(ABSENCE_EVENT)
        armed_by = snapshot.get("id") if isinstance(snapshot, dict) else None
        details[label] = None if due is None else {"due": _iso(due), "fires_at": _iso(due + lateness), "by": armed_by}
    pending = details["after"]
    if pending is not None:
        state = f"armed by event {pending['by']}: fires at {pending['fires_at']} unless a 'missing' event comes first"
    elif details["before"] is not None:
        state = "the pending deadline was cancelled or fired by this event"
    else:
        state = "not armed"
    role = (
        f"this event is {' and '.join(repr(r) for r in roles)}" if roles else "this event is neither after nor missing"
    )
    return StateExplanation("absence", f"{role}; {state}", details)


def _machine(initial: str, before: MachineSlot, after: MachineSlot) -> StateExplanation:
    old, new = before.get(MACHINE_STATE), after.get(MACHINE_STATE)
    since = ms_value(after.get(MACHINE_SINCE))
    entered = None if since is None else _iso(since)
    details = {"from": old, "to": new, "since": entered}
    if old is None and new is not None:
        then = "" if new == initial else f", then moves to {new!r}"
        summary = f"a new entity for this machine: enters {initial!r}{then}"
    elif old != new:
        summary = f"moves {old!r} -> {new!r}"
    else:
        summary = f"stays in {new!r}" + (f" (since {entered})" if entered is not None else "")
    return StateExplanation("machine", summary, details)


def _suppression(rule: RuleDefinition, event: Event, before: EntityState) -> list[StateExplanation]:
    parts = []
    if rule.max_per_period is not None:
        limit, period = rule.max_per_period.count, span_ms(rule.max_per_period.period)
        table = before.data.get(FIRED_KEY)
        stamps = table.get(rule.id) if isinstance(table, dict) else None
        at = to_ms(event.time)
        recent = sorted(
            s for s in (stamps if isinstance(stamps, list) else []) if type(s) is int and at - period < s <= at
        )
        full = len(recent) >= limit
        details = {
            "count": limit,
            "period": format_duration(rule.max_per_period.period),
            "recent": [_iso(s) for s in recent],
        }
        until = _iso(recent[-limit] + period) if full else None
        details["until"] = until
        summary = f"{len(recent)} of {limit} firings in the {details['period']} before the event"
        parts.append(StateExplanation("max_per_period", summary + (f": full until {until}" if full else ""), details))
    if rule.rearm:
        held = before.data.get(HELD_KEY)
        is_held = isinstance(held, list) and rule.id in held
        summary = "held: it fired and its condition has not been false since" if is_held else "armed: may fire"
        parts.append(StateExplanation("rearm", summary, {"held": is_held}))
    return parts


def filter_takes(step: EventFilter, event: Event, read: FieldReader) -> bool:
    if step.source is not None and step.source != event.source:
        return False
    if not type_matches(tuple(step.types or ("*",)), event.type):
        return False
    return step.condition is None or explain_condition(step.condition, event, read=read).result is True


def _iso(ms: int) -> str:
    return format_datetime(from_ms(ms))


def _number(value: Any) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)
