"""What ``explain_rule`` returns: plain frozen records, each with a JSON form (``to_json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.rules.explain.values import ValuePreview
from shared.rules.language.durations import format_duration
from shared.rules.language.times import format_datetime


@dataclass(frozen=True, slots=True)
class ConditionExplanation:
    """One node of a condition tree and what it gave for the event.

    ``kind`` is ``all``, ``any``, ``not`` or ``field``. ``result`` is ``None`` when the node failed
    (``error`` says why, types only); ``evaluated`` is ``False`` for nodes the engine never reaches
    because an earlier sibling already decided (their ``result`` is still shown, for information).
    """

    kind: str
    path: str
    result: bool | None
    evaluated: bool = True
    field: str | None = None
    op: str | None = None
    expected: str | None = None  # the literal, previewed
    expected_field: str | None = None  # value_field, for field-vs-field comparisons
    actual: ValuePreview | None = None
    other_actual: ValuePreview | None = None  # the value of ``expected_field``
    note: str | None = None
    error: str | None = None
    children: tuple[ConditionExplanation, ...] = ()

    def with_evaluated(self, evaluated: bool) -> ConditionExplanation:
        if evaluated == self.evaluated:
            return self
        return ConditionExplanation(**{**_fields(self), "evaluated": evaluated})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "path": self.path, "result": self.result}
        if not self.evaluated:
            data["evaluated"] = False
        for name in ("field", "op", "expected", "expected_field", "note", "error"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.actual is not None:
            data["actual"] = self.actual.to_json()
        if self.other_actual is not None:
            data["other_actual"] = self.other_actual.to_json()
        if self.children:
            data["children"] = [child.to_json() for child in self.children]
        return data


def _fields(node: ConditionExplanation) -> dict[str, Any]:
    return {name: getattr(node, name) for name in ConditionExplanation.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class WhenExplanation:
    """Whether the event is a candidate: its source and type against the rule's ``when``."""

    matched: bool
    source: str | None
    event_source: str
    types: tuple[str, ...]
    event_type: str
    matched_pattern: str | None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "source": self.source,
            "event_source": self.event_source,
            "types": list(self.types),
            "event_type": self.event_type,
            "matched_pattern": self.matched_pattern,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class CooldownExplanation:
    """The rule's cool-down for this entity at the event's time."""

    cooldown: timedelta
    last_fired: datetime | None
    until: datetime | None
    suppressed: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cooldown": format_duration(self.cooldown),
            "last_fired": None if self.last_fired is None else format_datetime(self.last_fired),
            "until": None if self.until is None else format_datetime(self.until),
            "suppressed": self.suppressed,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class StateExplanation:
    """One stateful part of a rule (window, sequence, state machine, ...) as the state shows it."""

    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "details": self.details}


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    """Why one rule did or did not fire for one event.

    ``fired`` is the engine's own answer (the rule set compiled and run on a copy of the state);
    ``verdict`` says it in words: ``fires``, ``not a candidate``, ``condition false``, ``condition
    failed``, ``suppressed by cool-down``, ``disabled``, ``skipped: <rule> stopped evaluation`` ...
    """

    rule_id: str
    priority: int
    enabled: bool
    fired: bool
    verdict: str
    when: WhenExplanation
    condition: ConditionExplanation | None
    condition_result: bool | None
    cooldown: CooldownExplanation | None = None
    stateful: tuple[StateExplanation, ...] = ()
    notes: tuple[str, ...] = ()
    #: The edge case that decided the verdict (docs/rules.md, "Edge cases"), e.g. ``cool-down ends
    #: exactly at 2024-05-01T10:00:00Z``; ``None`` when none applied.
    edge: str | None = None

    @property
    def headline(self) -> str:
        """The verdict, led by the edge that decided it: ``cool-down ends exactly at ...: fires``."""
        return self.verdict if self.edge is None else f"{self.edge}: {self.verdict}"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "priority": self.priority,
            "enabled": self.enabled,
            "fired": self.fired,
            "verdict": self.verdict,
            "when": self.when.to_json(),
            "condition": None if self.condition is None else self.condition.to_json(),
            "condition_result": self.condition_result,
            "cooldown": None if self.cooldown is None else self.cooldown.to_json(),
            "stateful": [part.to_json() for part in self.stateful],
            "notes": list(self.notes),
            "edge": self.edge,
        }
