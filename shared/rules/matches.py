"""``RuleMatch``: one rule fired for one event — what ``plan_actions`` turns into a ``PlannedAction``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.events.models import Event
from shared.rules.action_models import ActionSpec


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """``event`` is what the action's templates render from (for an absence rule: the event that
    armed the deadline; for an entity-state entry: the causing event, id ``<id>#<state>``).
    ``fired_at`` is when a stateful rule fired in event time (an absence deadline's time when a
    timer fired it); ``None`` from a stateless rule, meaning the event's own time."""

    rule_id: str
    rule_version: int
    event: Event
    action: ActionSpec
    entity: str
    fired_at: datetime | None = None
