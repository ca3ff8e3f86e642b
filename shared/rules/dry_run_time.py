"""Time on a dry run's virtual clock: how far to run after the last event, and when a match fired."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from shared.rules import RuleDefinition, RuleMatch


def longest_wait(definitions: Iterable[RuleDefinition]) -> timedelta:
    """How long after an event a deadline can still fire: the longest absence ``within`` plus its
    ``allowed_lateness`` (deadlines fire that much after they are due); zero without absences."""
    waits = [
        definition.absence.within + (definition.allowed_lateness or timedelta(0))
        for definition in definitions
        if definition.absence is not None
    ]
    return max(waits, default=timedelta(0))


def match_time(match: RuleMatch) -> datetime:
    """When a match fired, in event time: ``fired_at`` when the engine gives it (an absence's
    deadline, a stateful rule's event time), else the event's own time."""
    return match.fired_at if match.fired_at is not None else match.event.time
