"""What every stateful pattern (window, sequence, absence, machine) shares: compiled event filters,
the firings a pattern reports, and the protocol the evaluator drives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from shared.events.models import Event
from shared.rules.conditions.state_split import StateReader, compile_state_condition
from shared.rules.definitions.actions import ActionSpec
from shared.rules.definitions.conditions import EventFilter
from shared.rules.language.fields import FieldPath
from shared.rules.stateful.clock import EventClock
from shared.rules.stateful.memory import RuleSlot


@dataclass(frozen=True, slots=True)
class Firing:
    """A pattern wants its rule to fire: which action, for which event (templates), and when."""

    action: ActionSpec
    event: Event
    fired_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """A pattern's answer to one event: its firings, and whether its condition now holds
    (``None``: the event did not change that; used by ``rearm``)."""

    firings: tuple[Firing, ...] = ()
    holds: bool | None = None


NO_VERDICT = Verdict()


def type_matches(patterns: tuple[str, ...], event_type: str) -> bool:
    """Exact types, ``Prefix/*`` prefixes, or ``*`` (as in ``when.types``)."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type or (pattern.endswith("*") and event_type.startswith(pattern[:-1])):
            return True
    return False


class StepFilter:
    """A compiled ``{types, source, condition}`` (sequence step, absence side, transition trigger)."""

    def __init__(self, spec: EventFilter) -> None:
        self.types = tuple(spec.types or ("*",))
        self.source = spec.source
        self._check = compile_state_condition(spec.condition)

    def might_take(self, event: Event) -> bool:
        """Source and type only: cheap, and never reads state."""
        return (self.source is None or self.source == event.source) and type_matches(self.types, event.type)

    def takes(self, event: Event, reader: StateReader) -> bool:
        return self.might_take(event) and self._check(event, reader)


class Pattern[Slot: RuleSlot](Protocol):
    """One stateful rule's logic over its slot: a JSON dict in the entity's state whose layout is the
    pattern's ``Slot`` TypedDict of ``memory.py`` (each pattern class names its own,
    ``class SequencePattern(Pattern[SequenceSlot])``)."""

    fingerprint: str
    #: Whether ``deadline`` can ever return a time (absence); the others are never looked at by the timer.
    holds_deadlines: ClassVar[bool] = False

    def might_take(self, event: Event) -> bool:
        """Whether ``event`` can concern the pattern (cheap; decides whether state is loaded)."""
        ...

    def observe(self, event: Event, slot: Slot, clock: EventClock, reader: StateReader) -> Verdict:
        """Take ``event`` (which passed the rule's filter) into the slot; report firings."""
        ...

    def deadline(self, slot: Slot) -> datetime | None:
        """When ``fire_due`` should next look at this slot (``None``: nothing pending)."""
        ...

    def fire_due(self, slot: Slot, now: datetime) -> tuple[Firing, ...]:
        """Fire and remove what is due at ``now``."""
        ...

    def read(self, slot: Slot | None, path: FieldPath, at: datetime) -> Any:
        """The value of ``state.<rule id>[.<part>]`` (``MISSING`` when there is none)."""
        ...
