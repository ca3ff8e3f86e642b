"""What users write: rule definitions as pydantic models (no run-time logic), named here for the layers above."""

from __future__ import annotations

from shared.rules.definitions.actions import (
    ACTION_KINDS,
    SFMC_DESTINATION,
    ActionSpec,
    AnyAction,
    DataExtensionRowAction,
    EventBridgeAction,
    JourneyEntryAction,
    WebhookAction,
    template_texts,
)
from shared.rules.definitions.conditions import (
    MAX_CONDITION_DEPTH,
    AllCondition,
    AnyCondition,
    Condition,
    EventFilter,
    FieldCondition,
    NotCondition,
    When,
    condition_depth,
    condition_leaves,
)
from shared.rules.definitions.patterns import (
    AbsenceSpec,
    MachineSpec,
    RateLimitSpec,
    SequenceSpec,
    WindowSpec,
)
from shared.rules.definitions.rule import PATTERNS, RULE_ID_PATTERN, RuleDefinition, reads_state

__all__ = [
    "ACTION_KINDS",
    "SFMC_DESTINATION",
    "DataExtensionRowAction",
    "EventBridgeAction",
    "WebhookAction",
    "MAX_CONDITION_DEPTH",
    "PATTERNS",
    "RULE_ID_PATTERN",
    "AbsenceSpec",
    "ActionSpec",
    "AnyAction",
    "AllCondition",
    "AnyCondition",
    "Condition",
    "EventFilter",
    "FieldCondition",
    "JourneyEntryAction",
    "MachineSpec",
    "NotCondition",
    "RateLimitSpec",
    "RuleDefinition",
    "SequenceSpec",
    "When",
    "WindowSpec",
    "condition_depth",
    "condition_leaves",
    "reads_state",
    "template_texts",
]
