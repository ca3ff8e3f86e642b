"""Turn rule matches into planned actions: render templates, derive idempotency keys.

A match whose templates cannot be rendered from its event (a missing or null field, an empty
contact key) is not sent half-filled: it comes back as a ``PlanFailure`` for the dead-letter store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.actions.models import DEFAULT_DESTINATION, ActionKind, PlannedAction
from shared.events.models import Event
from shared.rules import RuleMatch, TemplateFieldMissing, compile_template


@dataclass(frozen=True, slots=True)
class PlanFailure:
    match: RuleMatch
    reason: str


@dataclass(frozen=True, slots=True)
class PlanResult:
    actions: list[PlannedAction] = field(default_factory=list)
    failures: list[PlanFailure] = field(default_factory=list)


def idempotency_key(rule_id: str, event_id: str, kind: str, destination: str) -> str:
    """Deterministic: the same match always plans the same key, so replays are recognized.

    Made of what identifies the act — rule, event, action kind, destination — and not of the rule
    set's version, so storing the rules again or editing a rule never makes a match that was already
    sent look new. (Keys planned before this recipe also named the version; outbox entries keep the
    key they were planned with, so they are delivered once under it.)
    """
    return hashlib.sha256(f"v2|{rule_id}|{event_id}|{kind}|{destination}".encode()).hexdigest()[:32]


def plan_actions(matches: Sequence[RuleMatch]) -> PlanResult:
    result = PlanResult()
    for match in matches:
        try:
            result.actions.append(plan_action(match))
        except TemplateFieldMissing as missing:
            result.failures.append(PlanFailure(match, f"action not planned: {missing}"))
        except ValueError as exc:
            result.failures.append(PlanFailure(match, f"action not planned: {exc}"))
    return result


def plan_action(match: RuleMatch) -> PlannedAction:
    """One match as a ``PlannedAction``; raises ``TemplateFieldMissing`` or ``ValueError``."""
    spec = match.action
    kind = ActionKind(spec.kind)
    contact_key = compile_template(spec.contact_key)(match.event)
    if not isinstance(contact_key, str):
        contact_key = str(contact_key)
    if not contact_key.strip():
        raise ValueError("contact key rendered empty")
    return PlannedAction(
        key=idempotency_key(match.rule_id, match.event.id, kind.value, DEFAULT_DESTINATION),
        kind=kind,
        rule_id=match.rule_id,
        event_id=match.event.id,
        entity=match.entity,
        contact_key=contact_key,
        event_definition_key=spec.event_definition_key,
        data={name: render_value(value, match.event) for name, value in spec.data.items()},
    )


def render_value(value: Any, event: Event) -> Any:
    """Strings are templates; lists and mappings are rendered item by item; other literals stay."""
    if isinstance(value, str):
        return compile_template(value)(event)
    if isinstance(value, list):
        return [render_value(item, event) for item in value]
    if isinstance(value, dict):
        return {name: render_value(item, event) for name, item in value.items()}
    return value
