"""``compile_ruleset``: validated rules in, an indexed, ready-to-run ``CompiledRuleSet`` out."""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from shared.events.models import Event
from shared.rules.conditions import Check, compile_condition
from shared.rules.cooldown import is_cooling_down, record_firing
from shared.rules.errors import InvalidRuleSet
from shared.rules.fields import parse_field_path
from shared.rules.index import CandidateList, RuleIndex
from shared.rules.matches import RuleMatch
from shared.rules.models import ActionSpec, RuleDefinition
from shared.rules.programs import RuleProgram, build_program, index_type_patterns
from shared.rules.rule_state import peek_slot
from shared.rules.state_fields import event_filter
from shared.rules.stateful_evaluation import StatefulEvaluator, StateView, log_condition_failure
from shared.rules.stateful_lint import lint_stateful_rules
from shared.store.models import EntityState

log = logging.getLogger(__name__)

__all__ = ["CompiledRule", "CompiledRuleSet", "RuleMatch", "compile_rule", "compile_ruleset"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule as the index and the evaluator see it.

    ``definition`` is what the index dispatches on: the rule as written, except that a condition
    reading ``state.`` fields is reduced to its event-only part (the rest runs in ``program``, which
    also keeps the rule as written). ``action`` is ``None`` for an entity-state machine.
    """

    id: str
    priority: int
    source: str | None
    type_patterns: tuple[str, ...]
    check: Check
    cooldown: timedelta | None
    stop_after_match: bool
    action: ActionSpec
    definition: RuleDefinition
    program: RuleProgram | None = None

    @property
    def order(self) -> tuple[int, str]:
        """Sort key: higher priority first, then id (deterministic)."""
        return (-self.priority, self.id)

    @property
    def is_stateful(self) -> bool:
        return self.cooldown is not None or self.program is not None


def compile_rule(definition: RuleDefinition) -> CompiledRule:
    indexed = event_filter(definition.condition)
    filter_definition = (
        definition if indexed is definition.condition else definition.model_copy(update={"condition": indexed})
    )
    return CompiledRule(
        id=definition.id,
        priority=definition.priority,
        source=definition.when.source,
        type_patterns=index_type_patterns(definition),
        check=compile_condition(indexed),
        cooldown=definition.cooldown,
        stop_after_match=definition.stop_after_match,
        action=definition.action,  # type: ignore[arg-type]  # None only for machines, which plan on_enter
        definition=filter_definition,
        program=build_program(definition),
    )


def compile_ruleset(rules: Sequence[RuleDefinition], *, version: int = 0) -> CompiledRuleSet:
    """Compile the enabled rules (disabled ones are left out).

    Raises ``InvalidRuleSet`` on duplicate ids and on what ``validate_rules`` would reject across
    rules (a ``state.`` field naming no machine or window, an unreachable state ...).
    """
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise InvalidRuleSet(f"duplicate rule ids: {', '.join(duplicates)}")
    problems = lint_stateful_rules(rules)
    if problems:
        raise InvalidRuleSet("; ".join(str(problem) for problem in problems))
    return CompiledRuleSet([compile_rule(rule) for rule in rules if rule.enabled], version=version)


class CompiledRuleSet:
    """The rules of one version, indexed. ``evaluate`` must be called in event order per entity."""

    def __init__(self, rules: Sequence[CompiledRule], *, version: int) -> None:
        self.version = version
        self.rules: tuple[CompiledRule, ...] = tuple(sorted(rules, key=lambda rule: rule.order))
        self._index = RuleIndex(self.rules)
        self._buckets = self._index.buckets
        self._cooldowns = {rule.id: rule.cooldown for rule in self.rules if rule.cooldown is not None}
        programs = [rule.program for rule in self.rules if rule.program is not None]
        self._stateful = StatefulEvaluator(programs, version=version, cooldowns=self._cooldowns)
        self._has_programs = bool(programs)
        if not any(rule.is_stateful for rule in self.rules):  # no candidate can ever need state
            self.needs_state = _NEEDS_NO_STATE  # type: ignore[method-assign,assignment]
        self.event_definition_keys: frozenset[str] = frozenset(
            action.event_definition_key for rule in self.rules for action in rule.definition.actions()
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
        """True when a stateful rule is a candidate for ``event`` and its event filter passes (and, for
        a pattern, the event can concern it; a re-arming rule needs state whenever it is a candidate)."""
        bucket = self._buckets.get((event.source, event.type)) or self._index.bucket(event)
        if not bucket.has_stateful:
            return False
        for candidate in (bucket.fixed or bucket.select(event)).stateful:
            program = candidate.rule.program
            if program is not None and program.suppression.rearm and program.pattern is None:
                return True  # a re-arming rule must see its condition clear
            try:
                if candidate.check(event) and (program is None or program.concerns(event)):
                    return True
            except Exception:  # evaluate() logs it once; here it only means "this one needs no state"
                continue
        return False

    def evaluate(self, event: Event, state: EntityState | None) -> list[RuleMatch]:
        """The rules that fire for ``event``, in priority order; updates ``state`` (cool-downs,
        windows, sequences, deadlines, machines, the watermark and ``state.due_at``).

        Never raises for a bad event: a condition that fails on it counts as "no match" and is logged.
        """
        bucket = self._buckets.get((event.source, event.type)) or self._index.bucket(event)
        selected = bucket.fixed or bucket.select(event)
        candidates = selected.all
        if not candidates:
            return []
        if selected.has_programs:
            return self._stateful.evaluate(event, state, candidates, self._take_cooldown)
        matches: list[RuleMatch] = []
        for candidate in candidates:
            try:
                if not candidate.check(event):
                    continue
            except Exception as exc:  # the evaluation boundary: a bad event or rule never escapes
                log_condition_failure(candidate.rule.id, event.id, exc)
                continue
            rule = candidate.rule
            if rule.cooldown is not None and not self._take_cooldown(rule, event, state):
                continue
            matches.append(RuleMatch(rule.id, self.version, event, rule.action, event.entity))
            if rule.stop_after_match:
                break
        return matches

    def fire_due(self, state: EntityState, now: datetime) -> list[RuleMatch]:
        """Fire every deadline of ``state`` due at ``now`` (absence rules: "A and no B within T"),
        remove them and set ``state.due_at`` to the next one. ``now`` is the timer's clock."""
        return self._stateful.fire_due(state, now)

    def next_deadline(self, state: EntityState) -> datetime | None:
        """The earliest pending deadline in ``state`` (what ``state.due_at`` should hold)."""
        return self._stateful.next_deadline(state)

    def take_late_count(self) -> int:
        """Late events evaluated since the last call (for the batch report), and reset the count."""
        late, self._stateful.late_events = self._stateful.late_events, 0
        return late

    def state_value(self, field: str, state: EntityState | None, at: datetime) -> object:
        """What a ``state.<rule id>[.<part>]`` condition field reads for ``state`` at ``at``."""
        return StateView(self._stateful.programs, state, at).read(parse_field_path(field))

    def rule_slot(self, rule_id: str, state: EntityState | None) -> dict[str, object] | None:
        """What a window, sequence, absence or machine rule keeps for ``state``'s entity (read only;
        layouts in windows.py, sequences.py, absence.py, machines.py), or ``None``."""
        program = self._stateful.programs.get(rule_id)
        if state is None or program is None or program.pattern is None:
            return None
        return peek_slot(state, rule_id, program.pattern.fingerprint)

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


def _needs_no_state(event: Event) -> bool:
    """``needs_state`` of a rule set without stateful rules."""
    return False


#: The same answer in one C-level call, without a Python frame: no event is this sentinel, so False.
_NEEDS_NO_STATE: Callable[[Event], bool] = partial(operator.is_, object())
