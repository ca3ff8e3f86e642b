"""Late and out-of-order events: each entity's watermark, and what "late" means for a rule.

The watermark is the newest event time the entity's stateful rules have taken (``WATERMARK_KEY`` of
``memory.py``, milliseconds). An event is *late* for a rule when it is older than the watermark minus the rule's
``allowed_lateness`` (default 0: any event older than the newest one seen). Late events are counted
(``CompiledRuleSet.take_late_count``) and handled by each pattern's stated policy (docs/rules.md,
"Late and out-of-order events"); none is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.models import Event
from shared.rules.language.times import ms_value, to_ms
from shared.rules.stateful.memory import WATERMARK_KEY
from shared.store.models import EntityState


@dataclass(frozen=True, slots=True)
class EventClock:
    """Event time as one event sees it: its own time and the entity's watermark before it (ms)."""

    at: int
    watermark: int

    @property
    def newest(self) -> int:
        """The watermark once this event is taken."""
        return self.at if self.at > self.watermark else self.watermark

    def is_late(self, lateness_ms: int) -> bool:
        return self.at < self.watermark - lateness_ms


def clock_for(event: Event, state: EntityState) -> EventClock:
    at = to_ms(event.time)
    watermark = ms_value(state.data.get(WATERMARK_KEY))
    return EventClock(at, at if watermark is None else watermark)


def advance_watermark(state: EntityState, clock: EventClock) -> None:
    state.data[WATERMARK_KEY] = clock.newest
