"""The records index/, engine/, explain/ and actions/ share: ``CompiledRule`` (one rule as the index and the
evaluator see it) and ``RuleMatch`` (one rule fired for one event — what ``plan_actions`` turns into a
``PlannedAction``). Kept out of engine/ so that the index never imports the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events.models import Event
from shared.rules.conditions.compiler import Check
from shared.rules.definitions.actions import ActionSpec
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.stateful.program import RuleProgram


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """``event`` is what the action's templates render from (for an absence rule: the event that
    armed the deadline; for an entity-state entry: the causing event, id ``<id>#<state>``).
    ``fired_at`` is when a stateful rule fired in event time (an absence deadline's time when a
    timer fired it); ``None`` from a stateless rule, meaning the event's own time. ``shadow``: the
    rule is in shadow mode — the match is counted and recorded, its action never planned."""

    rule_id: str
    rule_version: int
    event: Event
    action: ActionSpec
    entity: str
    fired_at: datetime | None = None
    shadow: bool = False


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule as the index and the evaluator see it.

    ``definition`` is what the index dispatches on: the rule as written, except that a condition
    reading ``state.`` fields is reduced to its event-only part (the rest runs in ``program``, which
    also keeps the rule as written). ``action`` is ``None`` for an entity-state machine. ``shadow``:
    the rule's ``mode`` is ``shadow`` (its ``stop_after_match`` is then off: it must not change what
    live rules do).
    """

    id: str
    priority: int
    source: str | None
    type_patterns: tuple[str, ...]
    check: Check
    cooldown: timedelta | None
    stop_after_match: bool
    action: ActionSpec
    definition: RuleDefinition
    program: RuleProgram | None = None
    shadow: bool = False

    @property
    def order(self) -> tuple[int, str]:
        """Sort key: higher priority first, then id (deterministic)."""
        return (-self.priority, self.id)

    @property
    def is_stateful(self) -> bool:
        return self.cooldown is not None or self.program is not None
