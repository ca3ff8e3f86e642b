"""Cool-downs in entity state: after a rule fires for an entity at event time t, it stays quiet
for that entity until t + cooldown (event time, never wall-clock time).

Layout (JSON only, kept small; ``EntityData.cooldowns`` in ``memory.py``): rule id -> last firing, ISO 8601 Z.
Storing the firing time (not the end of the cool-down) lets an edited cool-down apply at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from shared.rules.language.operands import parse_datetime
from shared.rules.language.times import format_datetime
from shared.rules.stateful.memory import COOLDOWNS_KEY
from shared.store.models import EntityState

#: Entries of rules no longer in the rule set are dropped once this old.
FORGET_UNKNOWN_AFTER = timedelta(days=400)


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


def record_firing(state: EntityState, rule_id: str, at: datetime, cooldowns: Mapping[str, timedelta]) -> None:
    """Remember that ``rule_id`` fired at ``at``; drop entries whose cool-down is over."""
    table: Any = state.data.get(COOLDOWNS_KEY)
    if not isinstance(table, dict):
        table = state.data[COOLDOWNS_KEY] = {}
    for other in list(table):
        fired = last_fired(state, other)
        keep_for = cooldowns.get(other, FORGET_UNKNOWN_AFTER)
        if fired is None or fired + keep_for <= at:
            del table[other]
    table[rule_id] = format_datetime(at)
