"""Evaluation with entity state: patterns, state conditions, suppression, lateness and deadlines.

``CompiledRuleSet`` hands events here when one of their candidates has a ``RuleProgram``. Rules run
in priority order; each sees the state as the rules before it left it for this event (give a window
a higher priority than the rules that read ``state.<window>``). ``stop_after_match`` stops lower
rules from *firing*; their state still takes the event (windows count it, sequences advance,
machines move, a re-arming rule sees its condition clear), so what they remember does not depend on
other rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.events.models import Event
from shared.rules.compiled import RuleMatch
from shared.rules.errors import ConditionFailed
from shared.rules.index.candidates import Candidate
from shared.rules.stateful.clock import EventClock, advance_watermark, clock_for
from shared.rules.stateful.memory import drop_unknown_slots, open_slot, peek_slot, reset_slot
from shared.rules.stateful.pattern import NO_VERDICT, Firing, Verdict
from shared.rules.stateful.program import RuleProgram
from shared.rules.stateful.reader import StateView
from shared.rules.stateful.suppression import forget_unknown_rules
from shared.store.models import EntityState

log = logging.getLogger(__name__)

TakeCooldown = Callable[[Any, Event, EntityState | None], bool]




class _Pass:
    """One event's walk over its candidates."""

    def __init__(self, event: Event, state: EntityState | None) -> None:
        self.event = event
        self.state = state
        self.clock: EventClock | None = clock_for(event, state) if state is not None else None
        self.matches: list[RuleMatch] = []
        self.stopped = False
        self.took = False
        self.late = False


class StatefulEvaluator:
    def __init__(
        self, programs: Sequence[RuleProgram], *, version: int, cooldowns: dict[str, timedelta], lateness_ms: int = 0
    ) -> None:
        self.version = version
        self.programs = {program.rule_id: program for program in programs}
        self._cooldowns = cooldowns
        self._lateness_ms = lateness_ms
        # only absence patterns hold deadlines: the timer's work and ``due_at`` look at them alone
        self._timed = [program for program in programs if program.pattern and program.pattern.holds_deadlines]
        self.late_events = 0

    def evaluate(
        self, event: Event, state: EntityState | None, candidates: Sequence[Candidate], take_cooldown: TakeCooldown
    ) -> list[RuleMatch]:
        run = _Pass(event, state)
        view = StateView(self.programs, state, event.time)
        for candidate in candidates:
            rule = candidate.rule
            program: RuleProgram | None = rule.program
            if run.stopped and (program is None or (program.pattern is None and not program.suppression.rearm)):
                continue  # a pattern's state, and a re-arming rule's condition, still take a stopped event
            if not self._passes(candidate, program, run, view):
                continue
            if program is None:
                if rule.cooldown is None or take_cooldown(rule, event, state):
                    match = RuleMatch(rule.id, self.version, event, rule.action, event.entity, None, rule.shadow)
                    run.matches.append(match)
                    run.stopped = rule.stop_after_match
                continue
            fired = self._emit(program, self._observe(program, run, view), run)
            run.stopped = run.stopped or (fired and rule.stop_after_match)
        self._finish(run)
        return run.matches

    def _passes(self, candidate: Candidate, program: RuleProgram | None, run: _Pass, view: StateView) -> bool:
        try:
            passed = candidate.check(run.event)
            if passed and program is not None and program.state_check is not None:
                passed = program.state_check(run.event, view)
        except Exception as exc:  # the evaluation boundary: a bad event or rule never escapes
            log_condition_failure(candidate.rule.id, run.event.id, exc)
            return False
        if not passed and program is not None and program.pattern is None and run.state is not None:
            program.suppression.release(run.state)  # a pattern's condition is its verdict, not its filter
        return passed

    def _observe(self, program: RuleProgram, run: _Pass, view: StateView) -> Verdict:
        if not program.concerns(run.event):
            return NO_VERDICT
        if run.state is None or run.clock is None:
            log.error("rule %s skipped for event %s: it needs entity state, none given", program.rule_id, run.event.id)
            return NO_VERDICT
        pattern = program.pattern
        if pattern is None:
            action = program.definition.action
            assert action is not None
            return Verdict((Firing(action, run.event, run.event.time),), holds=True)
        run.took = True
        run.late = run.late or run.clock.is_late(program.lateness_ms)
        slot = open_slot(run.state, program.rule_id, pattern.fingerprint)
        try:
            return pattern.observe(run.event, slot, run.clock, view)
        except ConditionFailed as exc:
            log_condition_failure(program.rule_id, run.event.id, exc)
        except Exception as exc:  # damaged state must not wedge the rule: start it afresh
            log.error(
                "rule %s: state of %s unusable for event %s (%s); the rule's state was reset",
                program.rule_id, run.state.entity, run.event.id, type(exc).__name__,
            )  # fmt: skip
            reset_slot(slot, pattern.fingerprint)
        return NO_VERDICT

    def _emit(self, program: RuleProgram, verdict: Verdict, run: _Pass) -> bool:
        """Turn a verdict's firings into matches, through suppression; True when one fired."""
        if run.state is None:
            return False
        if verdict.holds is False:
            program.suppression.release(run.state)  # even when stopped (docs: "Edge cases", rearm)
        if run.stopped:
            return False
        matches = self._allowed(program, verdict.firings, run.state)
        run.matches.extend(matches)
        return bool(matches)

    def _allowed(self, program: RuleProgram, firings: Sequence[Firing], state: EntityState) -> list[RuleMatch]:
        matches = []
        for firing in firings:
            if not program.suppression.allows(state, firing.fired_at):
                continue
            program.suppression.record(state, firing.fired_at, self._cooldowns, lateness_ms=self._lateness_ms)
            matches.append(
                RuleMatch(
                    program.rule_id, self.version, firing.event, firing.action, state.entity, firing.fired_at,
                    program.shadow,
                )
            )  # fmt: skip
        return matches

    def _finish(self, run: _Pass) -> None:
        if run.state is None or run.clock is None:
            return
        if run.took:  # only a pattern's slot can hold deadlines
            advance_watermark(run.state, run.clock)
            self.late_events += run.late
            self.tidy(run.state)
        elif run.matches:
            forget_unknown_rules(run.state, self.programs)

    def fire_due(self, state: EntityState, now: datetime) -> list[RuleMatch]:
        """Fire every deadline due at ``now`` (priority order), remove it, refresh ``due_at``."""
        matches: list[RuleMatch] = []
        for program in self._timed:
            assert program.pattern is not None
            slot = peek_slot(state, program.rule_id, program.pattern.fingerprint)
            if slot is not None:
                matches.extend(self._allowed(program, program.pattern.fire_due(slot, now), state))
        self.tidy(state)
        return matches

    def next_deadline(self, state: EntityState) -> datetime | None:
        deadlines = []
        for program in self._timed:
            assert program.pattern is not None
            slot = peek_slot(state, program.rule_id, program.pattern.fingerprint)
            due = program.pattern.deadline(slot) if slot is not None else None
            if due is not None:
                deadlines.append(due)
        return min(deadlines, default=None)

    def tidy(self, state: EntityState) -> None:
        """Drop what removed rules left behind and keep ``state.due_at`` current."""
        drop_unknown_slots(state, self.programs)
        forget_unknown_rules(state, self.programs)
        state.due_at = self.next_deadline(state)


def log_condition_failure(rule_id: str, event_id: str, exc: Exception) -> None:
    if isinstance(exc, ConditionFailed):
        log.warning(
            "rule %s: condition on %s (%s) failed for event %s: %s; treated as no match",
            rule_id, exc.field, exc.op, event_id, exc.reason,
        )  # fmt: skip
    else:
        log.warning(
            "rule %s: condition raised %s for event %s; treated as no match",
            rule_id, type(exc).__name__, event_id,
        )  # fmt: skip
