"""Helpers for stateful rule tests: compile raw rules, make events, and feed one entity's events
through a rule set with its state round-tripped through JSON after every call (as a store would)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.models import Event
from shared.rules import CompiledRuleSet, RuleMatch, compile_ruleset, validate_rules
from shared.store.models import EntityState

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
ENTITY = "ada@contoso.com"
ACTION: dict[str, Any] = {"kind": "journey_entry", "event_definition_key": "APIEvent-test"}


def compiled(*rules: dict[str, Any], version: int = 1) -> CompiledRuleSet:
    checked = validate_rules(list(rules))
    assert checked.errors == [], checked.errors
    return compile_ruleset(checked.rules, version=version)


def rule(rule_id: str, **parts: Any) -> dict[str, Any]:
    """A raw rule with a journey action unless ``parts`` says otherwise."""
    return {"id": rule_id, "action": ACTION, **parts} if "machine" not in parts else {"id": rule_id, **parts}


def event(
    minutes: float,
    event_type: str = "Test/Event",
    *,
    event_id: str | None = None,
    entity: str = ENTITY,
    tenant: str | None = None,
    **attributes: Any,
) -> Event:
    """An event ``minutes`` after ``T0`` (its id names type and minute unless given)."""
    return Event(
        id=event_id or f"{event_type}@{minutes}",
        source="json",
        type=event_type,
        time=T0 + timedelta(minutes=minutes),
        entity=entity,
        tenant=tenant,
        attributes=attributes,
    )


class Entity:
    """One entity's state, fed events in arrival order through a (swappable) rule set."""

    def __init__(self, ruleset: CompiledRuleSet, *, entity: str = ENTITY) -> None:
        self.ruleset = ruleset
        self.state = EntityState(entity=entity)

    def feed(self, *events: Event) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for item in events:
            matches += self.ruleset.evaluate(item, self.state)
            self._round_trip()
        return matches

    def fired(self, *events: Event) -> list[str]:
        """Rule ids that fired, one entry per match, in order."""
        return [match.rule_id for match in self.feed(*events)]

    def fire_due(self, now: datetime) -> list[RuleMatch]:
        matches = self.ruleset.fire_due(self.state, now)
        self._round_trip()
        return matches

    def _round_trip(self) -> None:
        text = json.dumps(self.state.data, allow_nan=False)
        self.state.data = json.loads(text)
