"""Sequences per entity: step 1, then step 2, ... then the last step, all within ``within`` of the
first step, in event time, with any other events in between.

Slot (``SequenceSlot`` in ``memory.py``): ``[start | null, ...]`` — one entry per number of steps
completed (1 .. n-1): the latest start time of a partial match that got that far. A later start
with the same progress is always at least as good (its deadline is later), so this is exact for
"did the steps occur in order within the time" and bounded by the number of steps. When the last
step completes, the rule fires and every partial match is cleared (the sequence starts over).

``within`` is checked at every step: an event extends a partial match only when it is no older than
the match's start and at most ``within`` after it (an event exactly ``within`` after the start still
counts). One event advances a match by one step at most; the event that completes a match also
begins a new one when it matches the first step. A completion that suppression or a higher rule's
``stop_after_match`` keeps from firing still clears the partial matches.

Lateness policy: sequences follow events in arrival order; a step must not be older than the start
of the partial match it extends. A partial match is kept while an event the rule still accepts (not
older than the watermark minus ``allowed_lateness``) could complete it: it is dropped once its end
(start + ``within``) is behind that. A late event is still applied, and counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.models import Event
from shared.rules.conditions.state_split import StateReader
from shared.rules.definitions.actions import ActionSpec
from shared.rules.definitions.patterns import SequenceSpec
from shared.rules.language.fields import MISSING, FieldPath
from shared.rules.language.times import span_ms
from shared.rules.stateful.clock import EventClock
from shared.rules.stateful.memory import SEQUENCE_RUNS, SequenceSlot
from shared.rules.stateful.pattern import Firing, Pattern, StepFilter, Verdict


class SequencePattern(Pattern[SequenceSlot]):
    def __init__(self, spec: SequenceSpec, *, action: ActionSpec, fingerprint: str, lateness_ms: int = 0) -> None:
        self.fingerprint = fingerprint
        self._steps = tuple(StepFilter(step) for step in spec.steps)
        self._within = span_ms(spec.within)
        self._lateness = lateness_ms
        self._action = action

    def might_take(self, event: Event) -> bool:
        return any(step.might_take(event) for step in self._steps)

    def observe(self, event: Event, slot: SequenceSlot, clock: EventClock, reader: StateReader) -> Verdict:
        runs = self._runs(slot, clock.newest - self._lateness)
        last = len(self._steps) - 1
        firings: tuple[Firing, ...] = ()
        for done in range(last, 0, -1):  # most advanced first: one event advances a match one step
            start = runs[done - 1]
            if start is None or not start <= clock.at <= start + self._within:
                continue
            if not self._steps[done].takes(event, reader):
                continue
            if done == last:
                firings = (Firing(self._action, event, event.time),)
                runs = [None] * last
                break
            runs[done] = _later(runs[done], start)
        if self._steps[0].takes(event, reader):
            runs[0] = _later(runs[0], clock.at)
        slot[SEQUENCE_RUNS] = runs
        return Verdict(firings)

    def _runs(self, slot: SequenceSlot, oldest: int) -> list[int | None]:
        """The partial matches an event at ``oldest`` or later could still extend (damaged entries dropped)."""
        stored = slot.get(SEQUENCE_RUNS)
        size = len(self._steps) - 1
        if not isinstance(stored, list) or len(stored) != size:
            return [None] * size
        return [start if type(start) is int and start + self._within >= oldest else None for start in stored]

    def deadline(self, slot: SequenceSlot) -> datetime | None:
        return None

    def fire_due(self, slot: SequenceSlot, now: datetime) -> tuple[Firing, ...]:
        return ()

    def read(self, slot: SequenceSlot | None, path: FieldPath, at: datetime) -> Any:
        return MISSING


def _later(current: int | None, start: int) -> int:
    return start if current is None or start > current else current
