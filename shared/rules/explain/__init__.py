"""Why a rule did or did not fire for an event; reads engine/ and stateful/, never writes the caller's state.

    explanation = explain_rule(rule, event, state)      # state: EntityState | None (None: a new entity)
    explanation.verdict, explanation.fired, explanation.to_json()
"""

from __future__ import annotations

from shared.rules.explain.models import (
    ConditionExplanation,
    CooldownExplanation,
    RuleExplanation,
    StateExplanation,
    WhenExplanation,
)
from shared.rules.explain.verdict import explain_rule, explain_rules

__all__ = [
    "ConditionExplanation",
    "CooldownExplanation",
    "RuleExplanation",
    "StateExplanation",
    "WhenExplanation",
    "explain_rule",
    "explain_rules",
]
