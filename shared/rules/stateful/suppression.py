"""Suppression per (rule, entity), in event time: cool-down, at most N firings per period, re-arm.

- ``cooldown``: after a rule fires for an entity at event time t, it stays quiet for that entity
  until t + cooldown (event time, never wall-clock time). State: ``EntityData.cooldowns`` (rule ->
  last firing, ISO 8601 Z). Storing the firing time (not the end of the cool-down) lets an edited
  cool-down apply at once. Plain rules with only a cool-down use it straight from the evaluator's
  fast loop (``is_cooling_down``, ``record_firing``); the others through ``Suppression``.
- ``max_per_period: {count, period}``: never more than ``count`` firings in any ``period``: a firing
  is suppressed when some period that holds it already holds ``count`` (in order, the period before
  it; an out-of-order event also meets the firings after it). State: ``EntityData.fired`` (rule ->
  [ms, ...]).
- ``rearm: true``: a rule that stays true fires once, then waits until its condition has been false
  for an event before it can fire again. State: ``EntityData.held`` (rule ids); layouts in ``memory.py``.

A suppressed match counts as not matched (it does not trigger ``stop_after_match``). The checks
run in that order and a firing is recorded only when all of them allow it.

History is pruned only where no event the rules still accept can need it. The *horizon* is the
entity's watermark minus the rule set's largest ``allowed_lateness`` (``horizon``): a cool-down entry
goes once its end is at or before the horizon; a firing time once it is more than a period before
both the horizon and the newest firing less a period. An entity without a watermark keeps its
cool-down entries (one per rule) and the firings within two periods of the newest; at most
``MAX_RATE_HISTORY`` per rule. Forgetting:
``forget_suppression`` drops one rule's entries (explain asks "would it fire without them?"),
``forget_unknown_rules`` those of rules no longer in the set (cool-downs age out instead).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.rules.definitions.patterns import RateLimitSpec
from shared.rules.language.operands import parse_datetime
from shared.rules.language.times import format_datetime, ms_value, span_ms, to_ms
from shared.rules.stateful.memory import COOLDOWNS_KEY, FIRED_KEY, HELD_KEY, WATERMARK_KEY
from shared.store.models import EntityState

#: Cool-down entries of rules no longer in the rule set are dropped once this old.
FORGET_UNKNOWN_AFTER = timedelta(days=400)
#: Firing times kept per rate-limited rule, at most (the newest).
MAX_RATE_HISTORY = 256


@dataclass(frozen=True, slots=True)
class Suppression:
    rule_id: str
    cooldown: timedelta | None = None
    rate: RateLimitSpec | None = None
    rearm: bool = False

    @property
    def active(self) -> bool:
        return self.cooldown is not None or self.rate is not None or self.rearm

    def allows(self, state: EntityState, at: datetime) -> bool:
        if self.rearm and self.rule_id in _held(state):
            return False
        if self.cooldown is not None and is_cooling_down(state, self.rule_id, self.cooldown, at):
            return False
        if self.rate is not None:
            fullest = fullest_period(firing_times(state, self.rule_id), to_ms(at), span_ms(self.rate.period))
            return len(fullest) < self.rate.count
        return True

    def record(
        self, state: EntityState, at: datetime, cooldowns: Mapping[str, timedelta], *, lateness_ms: int = 0
    ) -> None:
        """Remember a firing at ``at``; ``lateness_ms``: the rule set's largest allowed lateness."""
        if self.cooldown is not None:
            record_firing(state, self.rule_id, at, cooldowns, lateness_ms=lateness_ms)
        if self.rate is not None:
            _record_rate(state, self.rule_id, to_ms(at), self.rate, horizon(state, lateness_ms))
        if self.rearm:
            held = _held(state)
            held.add(self.rule_id)
            state.data[HELD_KEY] = sorted(held)

    def release(self, state: EntityState) -> None:
        """The condition was false: a re-arming rule may fire again."""
        if self.rearm:
            held = _held(state)
            if self.rule_id in held:
                held.discard(self.rule_id)
                _store_held(state, held)


def last_fired(state: EntityState, rule_id: str) -> datetime | None:
    table = state.data.get(COOLDOWNS_KEY)
    stamp = table.get(rule_id) if isinstance(table, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return parse_datetime(stamp)
    except ValueError:
        return None  # a damaged entry must not block the rule forever


def is_cooling_down(state: EntityState, rule_id: str, cooldown: timedelta, at: datetime) -> bool:
    """True while ``at`` is before the end of the cool-down (or before the last firing itself)."""
    fired = last_fired(state, rule_id)
    return fired is not None and at < fired + cooldown


def horizon(state: EntityState, lateness_ms: int) -> int | None:
    """The oldest event time (ms) the rules still accept for this entity: its watermark minus the
    largest ``allowed_lateness``; ``None`` when the entity has no watermark (every event counts)."""
    watermark = ms_value(state.data.get(WATERMARK_KEY))
    return None if watermark is None else watermark - lateness_ms


def record_firing(
    state: EntityState, rule_id: str, at: datetime, cooldowns: Mapping[str, timedelta], *, lateness_ms: int = 0
) -> None:
    """Remember that ``rule_id`` fired at ``at`` (its newest firing stays); drop the entries no
    accepted event can need: a cool-down over by the horizon, a removed rule's after 400 days."""
    table: Any = state.data.get(COOLDOWNS_KEY)
    if not isinstance(table, dict):
        table = state.data[COOLDOWNS_KEY] = {}
    oldest = horizon(state, lateness_ms)
    for other in list(table):
        fired = last_fired(state, other)
        keep_for = cooldowns.get(other)
        if keep_for is None:  # a rule no longer in the set (or junk)
            over = fired is None or fired + FORGET_UNKNOWN_AFTER <= at
        else:
            over = fired is None or (oldest is not None and to_ms(fired + keep_for) <= oldest)
        if over:
            del table[other]
    newest = last_fired(state, rule_id)
    if newest is None or newest < at:
        table[rule_id] = format_datetime(at)


def _held(state: EntityState) -> set[str]:
    held = state.data.get(HELD_KEY)
    return {item for item in held if isinstance(item, str)} if isinstance(held, list) else set()


def _store_held(state: EntityState, held: set[str]) -> None:
    if held:
        state.data[HELD_KEY] = sorted(held)
    else:
        state.data.pop(HELD_KEY, None)


def firing_times(state: EntityState, rule_id: str) -> list[int]:
    """The rate-limited rule's recorded firing times (ms, sorted)."""
    table = state.data.get(FIRED_KEY)
    stamps = table.get(rule_id) if isinstance(table, dict) else None
    return sorted(stamp for stamp in stamps if type(stamp) is int) if isinstance(stamps, list) else []


def fullest_period(stamps: list[int], at: int, period: int) -> list[int]:
    """Of the periods ``(end - period, end]`` that hold ``at``, the firings of the fullest: the
    period before ``at``, or one ending at a later firing (an out-of-order ``at``), less than a
    period later. A firing exactly one period away is outside."""
    best: list[int] = []
    for end in [at, *(stamp for stamp in stamps if at < stamp < at + period)]:
        inside = [stamp for stamp in stamps if end - period < stamp <= end]
        if len(inside) > len(best):
            best = inside
    return best


def _record_rate(state: EntityState, rule_id: str, at: int, rate: RateLimitSpec, oldest: int | None) -> None:
    stamps = sorted([*firing_times(state, rule_id), at])
    period = span_ms(rate.period)
    needed_from = stamps[-1] - period if oldest is None else min(oldest, stamps[-1] - period)
    kept = [stamp for stamp in stamps if stamp > needed_from - period][-MAX_RATE_HISTORY:]
    table: Any = state.data.get(FIRED_KEY)
    if not isinstance(table, dict):
        table = state.data[FIRED_KEY] = {}
    table[rule_id] = kept


def forget_suppression(state: EntityState, rule_id: str) -> None:
    """Drop ``rule_id``'s cool-down, rate and re-arm entries (explain asks "would it fire without them?")."""
    data = state.data
    for table in (data.get(COOLDOWNS_KEY), data.get(FIRED_KEY)):
        if isinstance(table, dict):
            table.pop(rule_id, None)
    held = data.get(HELD_KEY)
    if isinstance(held, list):
        data[HELD_KEY] = [item for item in held if item != rule_id]


def forget_unknown_rules(state: EntityState, known: Container[str]) -> None:
    """Drop rate and re-arm entries of rules that are not in the rule set (``known``: a set or a
    mapping by rule id; cool-downs age out)."""
    table = state.data.get(FIRED_KEY)
    if isinstance(table, dict):
        for rule_id in [rule_id for rule_id in table if rule_id not in known]:
            del table[rule_id]
        if not table:
            del state.data[FIRED_KEY]
    if HELD_KEY in state.data:
        _store_held(state, {rule_id for rule_id in _held(state) if rule_id in known})
