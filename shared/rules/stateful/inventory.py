"""What an entity's state holds, rule by rule, read from the layout alone, and how to forget it
(``squall state show|reset`` and the entity routes of the rules API).

No rule definition is needed: each pattern's slot shows its kind in its keys (``memory.py``), so a
state written by an older rule set still reads. Times come out as ISO 8601 ``Z`` text (JSON values).

Forgetting a rule drops its slot (window, sequence, absence deadline, machine) and its cool-down,
firing times and re-arm mark. It keeps the entity's watermark (its event-time clock, not any rule's
memory) and the pipeline's guards, ``_applied`` and ``_recent``: they record which events the entity
already took, so a replayed batch or a producer's retry after the reset is still skipped and cannot
fire a rule a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from shared.rules.language.times import format_datetime, from_ms, ms_value
from shared.rules.stateful.memory import (
    ABSENCE_DUE,
    ABSENCE_EVENT,
    APPLIED_KEY,
    BUCKET_COUNT,
    COOLDOWNS_KEY,
    FINGERPRINT_KEY,
    FIRED_KEY,
    HELD_KEY,
    MACHINE_SINCE,
    MACHINE_STATE,
    RECENT_KEY,
    RULES_KEY,
    SEQUENCE_RUNS,
    SLIDING_TIMES,
    TUMBLING_BUCKETS,
    WATERMARK_KEY,
)
from shared.store.models import EntityState

#: The keys a reset never removes: the watermark and the pipeline's replay and duplicate guards.
KEPT_ON_RESET: Final = (WATERMARK_KEY, APPLIED_KEY, RECENT_KEY)


@dataclass(frozen=True, slots=True)
class RuleMemory:
    """What the state holds for one rule: its slot (``kind`` and a summary) and its suppression."""

    rule_id: str
    kind: str | None = None  # sliding window | tumbling window | sequence | absence | machine | unknown
    summary: dict[str, Any] = field(default_factory=dict)
    last_fired: str | None = None  # cool-down: the last firing
    firings: tuple[str, ...] = ()  # max_per_period: the firing times kept
    held: bool = False  # rearm: fired, waiting for its condition to be false

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "summary": dict(self.summary),
            "last_fired": self.last_fired,
            "firings": list(self.firings),
            "held": self.held,
        }


@dataclass(frozen=True, slots=True)
class StateInventory:
    """An entity's state, readable: per rule, plus the entity's clock and the pipeline's guards."""

    watermark: str | None = None
    applied: dict[str, int] = field(default_factory=dict)  # partition -> last sequence number applied
    recent_event_ids: int = 0  # event-id hashes in the duplicate ring
    rules: tuple[RuleMemory, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "watermark": self.watermark,
            "applied": dict(self.applied),
            "recent_event_ids": self.recent_event_ids,
            "rules": [rule.to_json() for rule in self.rules],
        }


def read_inventory(state: EntityState) -> StateInventory:
    """The state's contents per rule (sorted by rule id); damaged entries are skipped, never raised."""
    data = state.data
    applied = data.get(APPLIED_KEY)
    recent = data.get(RECENT_KEY)
    watermark = ms_value(data.get(WATERMARK_KEY))
    return StateInventory(
        watermark=format_datetime(from_ms(watermark)) if watermark is not None else None,
        applied={str(k): v for k, v in applied.items() if type(v) is int} if isinstance(applied, dict) else {},
        recent_event_ids=len(recent) if isinstance(recent, list) else 0,
        rules=tuple(_rule_memory(data, rule_id) for rule_id in rules_in_state(state)),
    )


def rules_in_state(state: EntityState) -> list[str]:
    """The rule ids the state holds anything for: a slot, a cool-down, firing times, a re-arm mark."""
    data = state.data
    ids: set[str] = set()
    for key in (RULES_KEY, COOLDOWNS_KEY, FIRED_KEY):
        table = data.get(key)
        if isinstance(table, dict):
            ids.update(str(rule_id) for rule_id in table)
    held = data.get(HELD_KEY)
    if isinstance(held, list):
        ids.update(str(rule_id) for rule_id in held)
    return sorted(ids)


def forget_rules(state: EntityState, only: Iterable[str] | None = None) -> list[str]:
    """Drop what the state holds for the rules ``only`` names (every rule when ``None``), keeping
    ``KEPT_ON_RESET``; the ids that held something. ``state.due_at`` becomes ``None`` when no absence
    deadline is left; otherwise it is kept (an early ``due_at`` costs the timer one read, after which
    ``fire_due`` sets the true next deadline)."""
    held_now = rules_in_state(state)
    wanted = set(held_now if only is None else only)
    forgotten = [rule_id for rule_id in held_now if rule_id in wanted]
    data = state.data
    for key in (RULES_KEY, COOLDOWNS_KEY, FIRED_KEY):
        table = data.get(key)
        if isinstance(table, dict):
            for rule_id in [rule_id for rule_id in table if rule_id in wanted]:
                del table[rule_id]
            if not table:
                del data[key]
    held = data.get(HELD_KEY)
    if isinstance(held, list):
        data[HELD_KEY] = [rule_id for rule_id in held if rule_id not in wanted]
        if not data[HELD_KEY]:
            del data[HELD_KEY]
    if not any(ABSENCE_DUE in slot for slot in _slots(data).values() if isinstance(slot, dict)):
        state.due_at = None
    return forgotten


def _slots(data: dict[str, Any]) -> dict[str, Any]:
    slots = data.get(RULES_KEY)
    return slots if isinstance(slots, dict) else {}


def _rule_memory(data: dict[str, Any], rule_id: str) -> RuleMemory:
    slot = _slots(data).get(rule_id)
    kind, summary = _describe_slot(slot) if isinstance(slot, dict) else (None, {})
    cooldowns, fired, held = data.get(COOLDOWNS_KEY), data.get(FIRED_KEY), data.get(HELD_KEY)
    last = cooldowns.get(rule_id) if isinstance(cooldowns, dict) else None
    stamps = fired.get(rule_id) if isinstance(fired, dict) else None
    return RuleMemory(
        rule_id=rule_id,
        kind=kind,
        summary=summary,
        last_fired=last if isinstance(last, str) else None,
        firings=tuple(_times(stamps)) if isinstance(stamps, list) else (),
        held=isinstance(held, list) and rule_id in held,
    )


def _describe_slot(slot: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    if slot.keys() <= {FINGERPRINT_KEY}:
        return None, {}  # stamped, holding nothing yet (dropped at the entity's next evaluation)
    for key, kind, describe in _SLOT_KINDS:
        if key in slot:
            return kind, describe(slot)
    return "unknown", {"keys": sorted(str(key) for key in slot if key != FINGERPRINT_KEY)}


def _sliding(slot: dict[str, Any]) -> dict[str, Any]:
    times = _times(slot.get(SLIDING_TIMES))
    return {"events": len(times), "oldest": times[0] if times else None, "newest": times[-1] if times else None}


def _tumbling(slot: dict[str, Any]) -> dict[str, Any]:
    buckets = slot.get(TUMBLING_BUCKETS)
    buckets = buckets if isinstance(buckets, dict) else {}
    starts = sorted(int(start) for start in buckets if str(start).lstrip("-").isdigit())
    counts = [b.get(BUCKET_COUNT) for b in buckets.values() if isinstance(b, dict)]
    return {
        "buckets": len(buckets),
        "events": sum(n for n in counts if type(n) is int),
        "newest_bucket": format_datetime(from_ms(starts[-1])) if starts else None,
    }


def _sequence(slot: dict[str, Any]) -> dict[str, Any]:
    runs = slot.get(SEQUENCE_RUNS)
    runs = runs if isinstance(runs, list) else []
    done = [(steps + 1, start) for steps, start in enumerate(runs) if type(start) is int]
    if not done:
        return {"steps_done": 0, "started": None}
    steps, start = done[-1]
    return {"steps_done": steps, "started": format_datetime(from_ms(start))}


def _absence(slot: dict[str, Any]) -> dict[str, Any]:
    due = ms_value(slot.get(ABSENCE_DUE))
    armed = slot.get(ABSENCE_EVENT)
    event_id = armed.get("id") if isinstance(armed, dict) else None
    return {
        "deadline": format_datetime(from_ms(due)) if due is not None else None,
        "armed_by_event": event_id if isinstance(event_id, str) else None,
    }


def _machine(slot: dict[str, Any]) -> dict[str, Any]:
    since = ms_value(slot.get(MACHINE_SINCE))
    state = slot.get(MACHINE_STATE)
    return {"state": state if isinstance(state, str) else None,
            "since": format_datetime(from_ms(since)) if since is not None else None}  # fmt: skip


def _times(stamps: Any) -> list[str]:
    if not isinstance(stamps, list):
        return []
    return [format_datetime(from_ms(stamp)) for stamp in sorted(s for s in stamps if type(s) is int)]


_SLOT_KINDS: tuple[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    (SLIDING_TIMES, "sliding window", _sliding),
    (TUMBLING_BUCKETS, "tumbling window", _tumbling),
    (SEQUENCE_RUNS, "sequence", _sequence),
    (ABSENCE_DUE, "absence", _absence),
    (MACHINE_STATE, "machine", _machine),
)
