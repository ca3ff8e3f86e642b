"""The stateful parts of a rule (windows, sequences, absence, entity states) as the state shows them."""

from __future__ import annotations

from shared.events.models import Event
from shared.rules.explain_models import StateExplanation
from shared.rules.models import RuleDefinition
from shared.store.models import EntityState


def explain_stateful_parts(
    rule: RuleDefinition, event: Event, state: EntityState | None
) -> tuple[StateExplanation, ...]:
    """One entry per stateful feature of ``rule`` (none yet besides the cool-down, explained apart)."""
    return ()
