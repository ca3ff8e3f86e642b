"""``CompiledRuleSet``: one version's rules, indexed — select the candidates, evaluate them (the fast loop),
fire due deadlines, tell the next one."""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from shared.events.models import Event
from shared.rules.compiled import CompiledRule, RuleMatch
from shared.rules.definitions.actions import JourneyEntryAction
from shared.rules.engine.stateful_pass import StatefulEvaluator, log_condition_failure
from shared.rules.index.buckets import RuleIndex
from shared.rules.index.candidates import CandidateList
from shared.rules.language.fields import parse_field_path
from shared.rules.stateful.memory import peek_slot
from shared.rules.stateful.reader import StateView
from shared.rules.stateful.suppression import is_cooling_down, record_firing
from shared.store.models import EntityState

log = logging.getLogger(__name__)


class CompiledRuleSet:
    """The rules of one version, indexed. ``evaluate`` must be called in event order per entity."""

    def __init__(self, rules: Sequence[CompiledRule], *, version: int) -> None:
        self.version = version
        #: Hashes of the suppressed entities (``shared.log_fields.entity_hash``) in force with this rule
        #: set: the pipeline evaluates none of their events. ``RuleSetCache`` keeps it current.
        self.suppressed: frozenset[str] = frozenset()
        self.rules: tuple[CompiledRule, ...] = tuple(sorted(rules, key=lambda rule: rule.order))
        self._index = RuleIndex(self.rules)
        self._buckets = self._index.buckets
        self._cooldowns = {rule.id: rule.cooldown for rule in self.rules if rule.cooldown is not None}
        programs = [rule.program for rule in self.rules if rule.program is not None]
        #: The largest allowed lateness: suppression history is kept for events this far behind the watermark.
        self._lateness_ms = max((program.lateness_ms for program in programs), default=0)
        self._stateful = StatefulEvaluator(
            programs, version=version, cooldowns=self._cooldowns, lateness_ms=self._lateness_ms
        )
        self._has_programs = bool(programs)
        if not any(rule.is_stateful for rule in self.rules):  # no candidate can ever need state
            self.needs_state = _NEEDS_NO_STATE  # type: ignore[method-assign,assignment]
        self.event_definition_keys: frozenset[str] = frozenset(
            action.event_definition_key
            for rule in self.rules
            for action in rule.definition.actions()
            if isinstance(action, JourneyEntryAction)
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
            matches.append(RuleMatch(rule.id, self.version, event, rule.action, event.entity, None, rule.shadow))
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
        its layout is the pattern's slot TypedDict in stateful/memory.py), or ``None``."""
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
        record_firing(state, rule.id, event.time, self._cooldowns, lateness_ms=self._lateness_ms)
        return True


def _needs_no_state(event: Event) -> bool:
    """``needs_state`` of a rule set without stateful rules."""
    return False


#: The same answer in one C-level call, without a Python frame: no event is this sentinel, so False.
_NEEDS_NO_STATE: Callable[[Event], bool] = partial(operator.is_, object())
