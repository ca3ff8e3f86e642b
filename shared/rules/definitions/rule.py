"""``RuleDefinition``: one trigger rule as users write it (YAML/JSON), validated by pydantic.

Every model forbids unknown fields and is strict about types; literals are checked against their
operator here, so a rule that validates always compiles. Conditions live in ``conditions.py``,
actions in ``actions.py``, the stateful parts (windows, sequences, absence, machines) in
``patterns.py``; the package's ``__init__`` names them all. ``event_filters()`` is the one walk
over a rule's ``{source, types, condition}`` filters (its own, sequence steps, absence sides,
machine transitions) that lint, references, the index and explain share.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.rules.definitions.actions import ActionSpec
from shared.rules.definitions.conditions import (
    CONFIG,
    MAX_CONDITION_DEPTH,
    Condition,
    EventFilter,
    When,
    condition_depth,
    condition_leaves,
)
from shared.rules.definitions.patterns import (
    AbsenceSpec,
    Lateness,
    MachineSpec,
    RateLimitSpec,
    SequenceSpec,
    WindowSpec,
)
from shared.rules.language.durations import parse_positive_duration

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
#: The parts that make a rule a stateful pattern; a rule has at most one of them.
PATTERNS = ("window", "sequence", "absence", "machine")


def _duration(value: Any) -> Any:
    return parse_positive_duration(value) if isinstance(value, str) else value


class _ActionRequired:
    """Stands in for a missing ``action`` so it is reported at ``$.action`` (machines need none)."""


def _action_present(value: Any) -> Any:
    if isinstance(value, _ActionRequired):
        raise PydanticCustomError("missing", "Field required")
    return value


class RuleDefinition(BaseModel):
    """One trigger rule. ``priority``: higher first; ties broken by ``id``.

    ``mode``: ``live`` (the default) plans and sends its actions; ``shadow`` is evaluated and keeps
    its state like a live rule, but its matches are only counted and recorded in the delivery audit
    (``outcome=shadow``): it never plans an outbox entry, and its ``stop_after_match`` stops nothing.
    """

    model_config = CONFIG

    id: str = Field(min_length=1, max_length=128, pattern=RULE_ID_PATTERN)
    description: str = ""
    enabled: bool = True
    mode: Literal["live", "shadow"] = "live"
    priority: int = 0
    when: When = Field(default_factory=When)
    condition: Condition | None = None
    cooldown: Annotated[timedelta | None, BeforeValidator(_duration)] = None
    max_per_period: RateLimitSpec | None = None
    rearm: bool = False
    stop_after_match: bool = False
    window: WindowSpec | None = None
    sequence: SequenceSpec | None = None
    absence: AbsenceSpec | None = None
    machine: MachineSpec | None = None
    allowed_lateness: Lateness | None = None
    action: Annotated[ActionSpec | None, BeforeValidator(_action_present)] = None

    @model_validator(mode="before")
    @classmethod
    def _shallow_enough(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and condition_depth(raw.get("condition")) > MAX_CONDITION_DEPTH:
            raise ValueError(f"condition is nested deeper than {MAX_CONDITION_DEPTH} levels")
        if isinstance(raw, dict) and "action" not in raw and "machine" not in raw:
            return {**raw, "action": _ActionRequired()}
        return raw

    @property
    def pattern(self) -> str | None:
        """``window``, ``sequence``, ``absence`` or ``machine`` when the rule has one of them."""
        return next((name for name in PATTERNS if getattr(self, name) is not None), None)

    @property
    def shadow(self) -> bool:
        """Whether the rule runs in shadow mode (evaluated and recorded, never sent)."""
        return self.mode == "shadow"

    @property
    def is_stateful(self) -> bool:
        """Whether evaluating the rule reads or writes entity state."""
        return (
            self.pattern is not None
            or self.cooldown is not None
            or self.max_per_period is not None
            or self.rearm
            or reads_state(self.condition)
        )

    def event_filters(self) -> list[FilterAt]:
        """Every ``{source, types, condition}`` of the rule with its JSON path, the rule's own first
        (``$``: ``when`` + ``condition``), then sequence steps, absence sides, machine transitions."""
        found = [FilterAt("$", self.when.source, self.when.types, self.condition)]
        if self.sequence is not None:
            found += [_at(f"$.sequence.steps[{i}]", step) for i, step in enumerate(self.sequence.steps)]
        if self.absence is not None:
            found += [_at("$.absence.after", self.absence.after), _at("$.absence.missing", self.absence.missing)]
        if self.machine is not None:
            found += [_at(f"$.machine.transitions[{i}].when", m.when) for i, m in enumerate(self.machine.transitions)]
            found += [_at(f"$.machine.global[{i}].when", m.when) for i, m in enumerate(self.machine.global_)]
        return found

    def actions(self) -> list[ActionSpec]:
        """Every action the rule can plan: its own, or its machine states' ``on_enter``."""
        if self.machine is not None:
            return [state.on_enter for state in self.machine.states.values() if state.on_enter is not None]
        return [self.action] if self.action is not None else []


class FilterAt(NamedTuple):
    """One event filter of a rule and where it is written (``path`` for error messages)."""

    path: str
    source: str | None
    types: list[str] | None
    condition: Condition | None


def _at(path: str, spec: EventFilter) -> FilterAt:
    return FilterAt(path, spec.source, spec.types, spec.condition)


def reads_state(condition: Condition | None) -> bool:
    """Whether a condition has a ``state.<rule>`` leaf."""
    return any(
        leaf.field.startswith("state.") or (leaf.value_field or "").startswith("state.")
        for _, leaf in condition_leaves(condition, "$")
    )
