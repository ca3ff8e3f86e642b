"""What a stateful rule runs besides its event filter: its pattern (window, sequence, absence,
machine), the state part of its condition, its suppression and its allowed lateness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.events.models import Event
from shared.rules.conditions.state_split import StateCheck, compile_state_condition, state_part
from shared.rules.definitions.rule import RuleDefinition, reads_state
from shared.rules.language.times import span_ms
from shared.rules.stateful.absence import AbsencePattern
from shared.rules.stateful.machine import MachinePattern
from shared.rules.stateful.memory import fingerprint
from shared.rules.stateful.pattern import Pattern, type_matches
from shared.rules.stateful.sequence import SequencePattern
from shared.rules.stateful.suppression import Suppression
from shared.rules.stateful.window import window_pattern


@dataclass(frozen=True, slots=True)
class RuleProgram:
    rule_id: str
    definition: RuleDefinition  # as written (the compiled rule's own may hold only the event filter)
    pattern: Pattern[Any] | None
    state_check: StateCheck | None
    suppression: Suppression
    lateness_ms: int
    shadow: bool = False  # the rule's mode is shadow: its matches are recorded, never sent

    def concerns(self, event: Event) -> bool:
        """Whether an event that passed the rule's filter can change or read its state."""
        return self.pattern is None or self.pattern.might_take(event)


def build_program(definition: RuleDefinition) -> RuleProgram | None:
    """The program of a rule that needs more than the plain evaluator (``None`` for stateless rules
    and for rules whose only state is a cool-down)."""
    suppression = Suppression(definition.id, definition.cooldown, definition.max_per_period, definition.rearm)
    needs_program = (
        definition.pattern is not None
        or reads_state(definition.condition)
        or definition.max_per_period is not None
        or definition.rearm
    )
    if not needs_program:
        return None
    part = state_part(definition.condition)
    return RuleProgram(
        rule_id=definition.id,
        definition=definition,
        pattern=build_pattern(definition),
        state_check=compile_state_condition(part) if part is not None else None,
        suppression=suppression,
        lateness_ms=span_ms(definition.allowed_lateness or timedelta(0)),
        shadow=definition.shadow,
    )


def build_pattern(definition: RuleDefinition) -> Pattern[Any] | None:
    lateness = definition.allowed_lateness or timedelta(0)
    print_ = stateful_fingerprint(definition)
    if definition.window is not None:
        assert definition.action is not None
        return window_pattern(
            definition.id, definition.window, action=definition.action, lateness=lateness, fingerprint=print_
        )
    if definition.sequence is not None:
        assert definition.action is not None
        return SequencePattern(
            definition.sequence, action=definition.action, fingerprint=print_, lateness_ms=span_ms(lateness)
        )
    if definition.absence is not None:
        assert definition.action is not None
        return AbsencePattern(
            definition.id, definition.absence, action=definition.action, lateness=lateness, fingerprint=print_
        )
    if definition.machine is not None:
        return MachinePattern(definition.machine, rule_id=definition.id)
    return None


def stateful_fingerprint(definition: RuleDefinition) -> str:
    """What the pattern's state depends on: which events it takes and how it keeps them — not its
    thresholds, actions, suppression or priority (editing those keeps the state)."""
    dumped = definition.model_dump(
        mode="json", by_alias=True, include={"when", "condition", "window", "sequence", "absence"}
    )
    window = dumped.get("window")
    if isinstance(window, dict):
        window.pop("op", None)
        window.pop("value", None)
    absence = dumped.get("absence")
    if isinstance(absence, dict):
        absence.pop("within", None)  # armed deadlines keep their time
    return fingerprint(dumped)


def index_type_patterns(definition: RuleDefinition) -> tuple[str, ...]:
    """The types the index offers the rule: ``when.types``, else what its pattern's steps take."""
    if definition.when.types:
        return tuple(definition.when.types)
    filters = definition.event_filters()[1:]  # the pattern's own filters (steps, sides, transitions)
    if not filters or any(step.types is None for step in filters):
        return ("*",)
    return tuple(dict.fromkeys(pattern for step in filters for pattern in step.types or ()))


__all__ = ["RuleProgram", "build_program", "index_type_patterns", "type_matches"]
