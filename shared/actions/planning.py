"""Turn rule matches into planned actions: render templates, derive idempotency keys.

A match whose templates cannot be rendered from its event (a missing or null field, an empty
contact key) is not sent half-filled: it comes back as a ``PlanFailure`` for the dead-letter store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.actions.models import ActionKind, PlannedAction
from shared.events.models import Event
from shared.rules import (
    AnyAction,
    DataExtensionRowAction,
    EventBridgeAction,
    JourneyEntryAction,
    RuleMatch,
    TemplateFieldMissing,
    compile_template,
)


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
    """One match as a ``PlannedAction``; raises ``TemplateFieldMissing`` or ``ValueError``.

    Every kind renders its contact key and ``data``; a row renders its primary-key columns too.
    """
    spec = match.action
    kind = ActionKind(spec.kind)
    event = match.event
    contact_key = compile_template(spec.contact_key)(event)
    if not isinstance(contact_key, str):
        contact_key = str(contact_key)
    if not contact_key.strip():
        raise ValueError("contact key rendered empty")
    return PlannedAction(
        key=idempotency_key(match.rule_id, event.id, kind.value, spec.destination),
        kind=kind,
        rule_id=match.rule_id,
        event_id=event.id,
        entity=match.entity,
        contact_key=contact_key,
        data={name: render_value(value, event) for name, value in spec.data.items()},
        destination=spec.destination,
        **_kind_fields(spec, event),
    )


def _kind_fields(spec: AnyAction, event: Event) -> dict[str, Any]:
    """What only one kind carries: the journey's key, the row's keys, the event's detail type."""
    if isinstance(spec, JourneyEntryAction):
        return {"event_definition_key": spec.event_definition_key}
    if isinstance(spec, DataExtensionRowAction):
        row_keys = {name: render_value(value, event) for name, value in spec.row_keys.items()}
        return {"data_extension_key": spec.data_extension_key, "row_keys": row_keys}
    if isinstance(spec, EventBridgeAction):
        return {"detail_type": spec.detail_type}
    return {}


def render_value(value: Any, event: Event) -> Any:
    """Strings are templates; lists and mappings are rendered item by item; other literals stay."""
    if isinstance(value, str):
        return compile_template(value)(event)
    if isinstance(value, list):
        return [render_value(item, event) for item in value]
    if isinstance(value, dict):
        return {name: render_value(item, event) for name, item in value.items()}
    return value
