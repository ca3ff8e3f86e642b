"""Entity states (orchestrations): each entity is in one named state of the machine; events move it
along transitions; entering a state plans that state's ``on_enter`` action.

Slot (``MachineSlot`` in ``memory.py``): the current state and when it was entered (ms). The first
event the machine takes puts the entity in ``initial`` (planning its ``on_enter``, if any); the
same event may then move it on.
Per event at most one transition is taken: ``global`` transitions first (from any state other than
their target: one to the current state is skipped, and the state's own are still checked), then the
current state's own, in the order written. A transition whose condition meets a value of the wrong
type (a type surprise) is not taken, with one warning; the next ones are still checked, and an
entity entering ``initial`` on that event keeps its ``on_enter``.

An entry's action is planned for the event that caused it, under the id ``<event id>#<state>`` so
two entries caused by one event get two idempotency keys.

Versions: the entity keeps its state across rule-set versions as long as a state of that name still
exists; otherwise it starts again in ``initial``. Lateness policy: transitions follow events in
arrival order (a late event still moves the entity, and is counted).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.events.models import Event
from shared.rules.conditions.state_split import StateReader
from shared.rules.definitions.patterns import MachineSpec
from shared.rules.errors import ConditionFailed
from shared.rules.language.fields import MISSING, FieldPath
from shared.rules.language.times import from_ms, ms_value
from shared.rules.stateful.clock import EventClock
from shared.rules.stateful.memory import MACHINE_SINCE, MACHINE_STATE, MachineSlot
from shared.rules.stateful.pattern import Firing, Pattern, StepFilter, Verdict

log = logging.getLogger(__name__)

#: Machines keep their slot across versions (see the module docstring), so the print is constant.
MACHINE_FINGERPRINT = "machine"


class MachinePattern(Pattern[MachineSlot]):
    fingerprint = MACHINE_FINGERPRINT

    def __init__(self, spec: MachineSpec, *, rule_id: str = "") -> None:
        self.rule_id = rule_id
        self._initial = spec.initial
        self._states = spec.states
        self._global = tuple((move.to, StepFilter(move.when)) for move in spec.global_)
        self._moves = {
            name: tuple((move.to, StepFilter(move.when)) for move in spec.transitions if name in move.sources)
            for name in spec.states
        }

    def might_take(self, event: Event) -> bool:
        return True  # a new entity enters ``initial`` on any event the rule's filter lets through

    def observe(self, event: Event, slot: MachineSlot, clock: EventClock, reader: StateReader) -> Verdict:
        firings: list[Firing] = []
        current = slot.get(MACHINE_STATE)
        if current not in self._states:
            current = self._enter(slot, self._initial, event, clock, firings)
        target = self._next_state(current, event, reader)
        if target is not None:
            self._enter(slot, target, event, clock, firings)
        return Verdict(tuple(firings))

    def _next_state(self, current: str, event: Event, reader: StateReader) -> str | None:
        for target, trigger in self._global:
            if target != current and self._takes(trigger, event, reader):
                return target
        for target, trigger in self._moves.get(current, ()):
            if self._takes(trigger, event, reader):
                return target
        return None

    def _takes(self, trigger: StepFilter, event: Event, reader: StateReader) -> bool:
        """A type surprise in a transition's condition: that transition is not taken (one warning)."""
        try:
            return trigger.takes(event, reader)
        except ConditionFailed as exc:
            log.warning(
                "rule %s: transition condition on %s (%s) failed for event %s: %s; transition not taken",
                self.rule_id, exc.field, exc.op, event.id, exc.reason,
            )  # fmt: skip
            return False

    def _enter(self, slot: MachineSlot, name: str, event: Event, clock: EventClock, firings: list[Firing]) -> str:
        slot[MACHINE_STATE], slot[MACHINE_SINCE] = name, clock.at
        action = self._states[name].on_enter
        if action is not None:
            entry = event.model_copy(update={"id": f"{event.id}#{name}"})
            firings.append(Firing(action, entry, event.time))
        return name

    def deadline(self, slot: MachineSlot) -> datetime | None:
        return None

    def fire_due(self, slot: MachineSlot, now: datetime) -> tuple[Firing, ...]:
        return ()

    def read(self, slot: MachineSlot | None, path: FieldPath, at: datetime) -> Any:
        if slot is None or slot.get(MACHINE_STATE) not in self._states:
            return MISSING
        if len(path.keys) == 1:
            return slot[MACHINE_STATE]
        since = ms_value(slot.get(MACHINE_SINCE))
        return MISSING if since is None else from_ms(since)
