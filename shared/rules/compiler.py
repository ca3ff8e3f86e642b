"""``compile_ruleset``: validated rules in, an indexed, ready-to-run ``CompiledRuleSet`` out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from shared.events.models import Event
from shared.rules.conditions import Check, ConditionFailed, compile_condition
from shared.rules.cooldown import is_cooling_down, record_firing
from shared.rules.errors import InvalidRuleSet
from shared.rules.index import CandidateList, RuleIndex
from shared.rules.models import ActionSpec, RuleDefinition
from shared.store.models import EntityState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One rule fired for one event: what ``plan_actions`` turns into a ``PlannedAction``."""

    rule_id: str
    rule_version: int
    event: Event
    action: ActionSpec
    entity: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    priority: int
    source: str | None
    type_patterns: tuple[str, ...]
    check: Check
    cooldown: timedelta | None
    stop_after_match: bool
    action: ActionSpec
    definition: RuleDefinition

    @property
    def order(self) -> tuple[int, str]:
        """Sort key: higher priority first, then id (deterministic)."""
        return (-self.priority, self.id)

    @property
    def is_stateful(self) -> bool:
        return self.cooldown is not None


def compile_rule(definition: RuleDefinition) -> CompiledRule:
    return CompiledRule(
        id=definition.id,
        priority=definition.priority,
        source=definition.when.source,
        type_patterns=tuple(definition.when.types or ("*",)),
        check=compile_condition(definition.condition),
        cooldown=definition.cooldown,
        stop_after_match=definition.stop_after_match,
        action=definition.action,
        definition=definition,
    )


def compile_ruleset(rules: Sequence[RuleDefinition], *, version: int = 0) -> CompiledRuleSet:
    """Compile the enabled rules (disabled ones are left out). Raises ``InvalidRuleSet`` on duplicate ids."""
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise InvalidRuleSet(f"duplicate rule ids: {', '.join(duplicates)}")
    return CompiledRuleSet([compile_rule(rule) for rule in rules if rule.enabled], version=version)


class CompiledRuleSet:
    """The rules of one version, indexed. ``evaluate`` must be called in event order per entity."""

    def __init__(self, rules: Sequence[CompiledRule], *, version: int) -> None:
        self.version = version
        self.rules: tuple[CompiledRule, ...] = tuple(sorted(rules, key=lambda rule: rule.order))
        self._index = RuleIndex(self.rules)
        self._buckets = self._index.buckets
        self._cooldowns = {rule.id: rule.cooldown for rule in self.rules if rule.cooldown is not None}
        self.event_definition_keys: frozenset[str] = frozenset(
            rule.action.event_definition_key for rule in self.rules
        )

    def __len__(self) -> int:
        return len(self.rules)

    def candidate_ids(self, event: Event) -> list[str]:
        """The rules the index selects for ``event``, in evaluation order (before their conditions)."""
        return [candidate.rule.id for candidate in self._select(event).all]

    def _select(self, event: Event) -> CandidateList:
        bucket = self._buckets.get((event.source, event.type)) or self._index.bucket(event)
        return bucket.fixed or bucket.select(event)

    def needs_state(self, event: Event) -> bool:
        """True when a stateful rule is a candidate for ``event`` and its condition passes (no state read)."""
        bucket = self._buckets.get((event.source, event.type)) or self._index.bucket(event)
        if not bucket.has_stateful:
            return False
        for candidate in (bucket.fixed or bucket.select(event)).stateful:
            try:
                if candidate.check(event):
                    return True
            except Exception:  # evaluate() logs it once; here it only means "this one needs no state"
                continue
        return False

    def evaluate(self, event: Event, state: EntityState | None) -> list[RuleMatch]:
        """The rules that fire for ``event``, in priority order; updates cool-downs in ``state``.

        Never raises for a bad event: a condition that fails on it counts as "no match" and is logged.
        """
        candidates = self._select(event).all
        if not candidates:
            return []
        matches: list[RuleMatch] = []
        for candidate in candidates:
            try:
                if not candidate.check(event):
                    continue
            except Exception as exc:  # the evaluation boundary: a bad event or rule never escapes
                _log_condition_failure(candidate.rule.id, event.id, exc)
                continue
            rule = candidate.rule
            if rule.cooldown is not None and not self._take_cooldown(rule, event, state):
                continue
            matches.append(RuleMatch(rule.id, self.version, event, rule.action, event.entity))
            if rule.stop_after_match:
                break
        return matches

    def _take_cooldown(self, rule: CompiledRule, event: Event, state: EntityState | None) -> bool:
        """Whether ``rule`` may fire now; if so, start its cool-down in ``state``."""
        assert rule.cooldown is not None
        if state is None:
            log.error("rule %s skipped for event %s: it needs entity state, none given", rule.id, event.id)
            return False
        if is_cooling_down(state, rule.id, rule.cooldown, event.time):
            return False
        record_firing(state, rule.id, event.time, self._cooldowns)
        return True


def _log_condition_failure(rule_id: str, event_id: str, exc: Exception) -> None:
    if isinstance(exc, ConditionFailed):
        log.warning(
            "rule %s: condition on %s (%s) failed for event %s: %s; treated as no match",
            rule_id, exc.field, exc.op, event_id, exc.reason,
        )
    else:
        log.warning(
            "rule %s: condition raised %s for event %s; treated as no match",
            rule_id, type(exc).__name__, event_id,
        )
