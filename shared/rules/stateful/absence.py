"""Absence per entity: an ``after`` event and no ``missing`` event within ``within`` — fired on time
alone, by ``CompiledRuleSet.fire_due`` (the timer, the local runtime's clock, a dry run's virtual
clock), or by a later event of the entity whose time is past the deadline.

Slot (``AbsenceSlot`` in ``memory.py``): the deadline (ms) and a snapshot of the after event; one
pending deadline per entity and rule. The first ``after`` event (in event time) arms it; later
``after`` events while it is pending do not move it, an older one arriving out of order moves it
earlier (and becomes the event it fires for); a ``missing`` event older than the deadline cancels it (an
event that is both, e.g. the same type, cancels and re-arms: "no further X within T of the last
X"). The action's templates render from the snapshot (only the attributes they read are kept).

Lateness policy: a deadline fires ``allowed_lateness`` after it is due, so a straggling ``missing``
event can still cancel it. A ``missing`` event older than a pending deadline cancels it whenever it
arrives; once fired, nothing is undone. A late ``after`` event whose deadline (plus lateness) is
already behind the watermark arms nothing (counted as late).

Event snapshots: an absence fires on time alone, long after the event that armed it, so its slot
keeps the small part of that event its action's templates need: the identity (``id``, ``source``,
``type``, ``time``, ``entity``, ``tenant``) and only the attributes the templates read, never the
whole payload (``EventSnapshotter``, ``restore_event``, at the end of this module).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from shared.events.models import Event
from shared.rules.conditions.state_split import StateReader
from shared.rules.definitions.actions import ActionSpec, template_texts
from shared.rules.definitions.patterns import AbsenceSpec
from shared.rules.language.fields import MISSING, FieldPath, compile_getter
from shared.rules.language.templates import parse_template
from shared.rules.language.times import format_datetime, from_ms, ms_value, span_ms, to_ms
from shared.rules.stateful.clock import EventClock
from shared.rules.stateful.memory import ABSENCE_DUE, ABSENCE_EVENT, AbsenceSlot
from shared.rules.stateful.pattern import Firing, Pattern, StepFilter, Verdict

log = logging.getLogger(__name__)

_IDENTITY = ("id", "source", "type", "entity", "tenant")


class AbsencePattern(Pattern[AbsenceSlot]):
    holds_deadlines = True

    def __init__(
        self, rule_id: str, spec: AbsenceSpec, *, action: ActionSpec, lateness: timedelta, fingerprint: str
    ) -> None:
        self.rule_id = rule_id
        self.fingerprint = fingerprint
        self._after = StepFilter(spec.after)
        self._missing = StepFilter(spec.missing)
        self._within = span_ms(spec.within)
        self._lateness = span_ms(lateness)
        self._action = action
        self._snapshots = EventSnapshotter(action)

    def might_take(self, event: Event) -> bool:
        return self._after.might_take(event) or self._missing.might_take(event)

    def observe(self, event: Event, slot: AbsenceSlot, clock: EventClock, reader: StateReader) -> Verdict:
        firings: tuple[Firing, ...] = ()
        due = ms_value(slot.get(ABSENCE_DUE))
        if due is not None and clock.at < due and self._missing.takes(event, reader):
            _disarm(slot)
            due = None
        if due is not None and due + self._lateness <= clock.newest:
            firings = self._fire(slot, due)
            due = None
        armed = clock.at + self._within
        if (due is None or armed < due) and armed + self._lateness > clock.newest and self._after.takes(event, reader):
            slot[ABSENCE_DUE], slot[ABSENCE_EVENT] = armed, self._snapshots.take(event)
        return Verdict(firings)

    def deadline(self, slot: AbsenceSlot) -> datetime | None:
        due = ms_value(slot.get(ABSENCE_DUE))
        return None if due is None else from_ms(due + self._lateness)

    def fire_due(self, slot: AbsenceSlot, now: datetime) -> tuple[Firing, ...]:
        due = ms_value(slot.get(ABSENCE_DUE))
        if due is None or due + self._lateness > to_ms(now):
            return ()
        return self._fire(slot, due)

    def read(self, slot: AbsenceSlot | None, path: FieldPath, at: datetime) -> Any:
        return MISSING

    def _fire(self, slot: AbsenceSlot, due: int) -> tuple[Firing, ...]:
        snapshot = slot.get(ABSENCE_EVENT)
        _disarm(slot)
        try:
            event = restore_event(snapshot) if isinstance(snapshot, dict) else None
        except ValidationError:
            event = None
        if event is None:
            log.error("rule %s: a due deadline had no usable event snapshot; it was dropped", self.rule_id)
            return ()
        return (Firing(self._action, event, from_ms(due)),)


def _disarm(slot: AbsenceSlot) -> None:
    slot.pop(ABSENCE_DUE, None)
    slot.pop(ABSENCE_EVENT, None)


class EventSnapshotter:
    """Takes snapshots with the attributes one action's templates read."""

    def __init__(self, action: ActionSpec) -> None:
        paths = {
            field.keys
            for text in template_texts(action)
            for field in parse_template(text).fields
            if field.top == "attributes"
        }
        self._getters = [
            (keys, compile_getter(FieldPath(".".join(keys), "attributes", keys))) for keys in sorted(paths)
        ]

    def take(self, event: Event) -> dict[str, Any]:
        """A JSON dict with the event's identity and the attributes (missing ones left out)."""
        snapshot: dict[str, Any] = {name: getattr(event, name) for name in _IDENTITY}
        snapshot["time"] = format_datetime(event.time)
        attributes: dict[str, Any] = {}
        for keys, get in self._getters:
            value = get(event)
            if value is not MISSING:
                _put(attributes, keys, _json_value(value))
        snapshot["attributes"] = attributes
        return snapshot


def restore_event(snapshot: dict[str, Any]) -> Event:
    """The event a snapshot describes (raises pydantic's ``ValidationError`` when it is damaged)."""
    return Event.model_validate(snapshot)


def _json_value(value: Any) -> Any:
    """Datetimes (some normalizers keep them typed) as the ISO text templates render anyway."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


def _put(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """Nested dicts along ``keys`` (a numeric key of an array becomes a dict key: templates read
    ``attributes.Contexts.0.Type`` either way)."""
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    target[keys[-1]] = value
