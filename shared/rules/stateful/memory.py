"""THE layout of ``EntityState.data``: every top-level key and each pattern's slot, declared once here.

No other module writes these keys as string literals: they import the constants and read through
the TypedDicts (typing only, no run-time cost) and the helpers below.

    {"rules": {"<rule id>": {"fp": "<fingerprint>", ...the pattern's slot...}},   # RuleSlots
     "wm": <the entity's watermark, ms: newest event time a stateful rule took>,  # stateful/clock.py
     "cooldowns": {"<rule id>": "<last firing, ISO 8601 Z>"},                     # stateful/suppression.py
     "fired": {"<rule id>": [ms, ...]},          # max_per_period: the newest firings (suppression.py)
     "held": ["<rule id>", ...],                 # rearm: fired, condition not false since
     "_applied": {"<partition>": <sequence number>},   # the pipeline's replay guard (applied_sequences)
     "_recent": ["<event id hash>", ...]}   # the pipeline's duplicate guard (recent_event_ids)

JSON only; times are integer milliseconds since the epoch, UTC. A rule's slot is keyed by its id and
stamped with a fingerprint of its stateful definition (what it matches and how it aggregates, not
its thresholds or actions). A new rule-set version keeps the slot of a rule whose fingerprint is
unchanged and starts a changed one afresh; slots of rules that are no longer in the set are dropped
the next time the entity is evaluated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container
from typing import Any, Final, TypedDict

import msgspec

from shared.store.models import EntityState

RULES_KEY: Final = "rules"
WATERMARK_KEY: Final = "wm"
COOLDOWNS_KEY: Final = "cooldowns"
FIRED_KEY: Final = "fired"
HELD_KEY: Final = "held"
APPLIED_KEY: Final = "_applied"
RECENT_KEY: Final = "_recent"
#: Event-id hashes an entity remembers: a producer's retried event within the last this-many events of
#: the entity is not counted twice by its windows, sequences and cool-downs.
RECENT_RING: Final = 32
#: Inside every slot: the fingerprint of the definition that wrote it.
FINGERPRINT_KEY: Final = "fp"


class RuleSlot(TypedDict, total=False):
    """What every pattern's slot has; the pattern adds its own keys (the classes below)."""

    fp: str


# Each pattern's slot: a TypedDict (what the type checker sees) and a constant per key (what the code
# indexes with), side by side so they cannot drift (tests/unit/test_state_layout.py checks both).


class SlidingWindowSlot(RuleSlot, total=False):
    """Event times (sorted) and, unless the aggregate is ``count``, their values (``distinct``: hashes)."""

    t: list[int]
    v: list[Any]


SLIDING_TIMES: Final = "t"
SLIDING_VALUES: Final = "v"


class TumblingBucket(TypedDict, total=False):
    """One tumbling bucket: only the keys its aggregate needs."""

    n: int  # events taken
    s: float  # sum (sum, avg)
    lo: float  # min
    hi: float  # max
    d: list[str]  # distinct: short hashes of the values


BUCKET_COUNT: Final = "n"
BUCKET_SUM: Final = "s"
BUCKET_MIN: Final = "lo"
BUCKET_MAX: Final = "hi"
BUCKET_DISTINCT: Final = "d"


class TumblingWindowSlot(RuleSlot, total=False):
    b: dict[str, TumblingBucket]  # bucket start (ms, as text) -> bucket


TUMBLING_BUCKETS: Final = "b"


class SequenceSlot(RuleSlot, total=False):
    r: list[int | None]  # per number of steps completed (1 .. n-1): the start of the newest such run


SEQUENCE_RUNS: Final = "r"


class AbsenceSlot(RuleSlot, total=False):
    due: int  # the pending deadline, ms
    a: dict[str, Any]  # the snapshot of the ``after`` event (``EventSnapshotter`` in stateful/absence.py)


ABSENCE_DUE: Final = "due"
ABSENCE_EVENT: Final = "a"


class MachineSlot(RuleSlot, total=False):
    s: str  # the current state
    since: int  # entered at, ms


MACHINE_STATE: Final = "s"
MACHINE_SINCE: Final = "since"


class EntityData(TypedDict, total=False):
    """``EntityState.data`` as a whole."""

    rules: dict[str, RuleSlot]
    wm: int
    cooldowns: dict[str, str]
    fired: dict[str, list[int]]
    held: list[str]
    _applied: dict[str, int]
    _recent: list[str]


def applied_sequences(state: EntityState) -> dict[str, int]:
    """The pipeline's replay guard: partition -> last sequence number applied to this entity (created
    empty when absent; the caller updates it in place)."""
    applied: dict[str, int] = state.data.setdefault(APPLIED_KEY, {})
    return applied


def state_meaning(state: EntityState) -> bytes:
    """The state without the pipeline's guards (``_applied``, ``_recent``): when an evaluation leaves
    this as it was, the state need not be written (a replay derives the same nothing)."""
    data = {key: value for key, value in state.data.items() if key not in (APPLIED_KEY, RECENT_KEY)}
    return msgspec.json.encode([data, state.due_at])


def seen_recently(state: EntityState, event_id: str) -> bool:
    """True when this entity took ``event_id`` among its last ``RECENT_RING`` events; else
    remembers it (the oldest hash leaves the ring)."""
    digest = hashlib.blake2b(event_id.encode(), digest_size=6).hexdigest()
    ring: list[str] = state.data.setdefault(RECENT_KEY, [])
    if digest in ring:
        return True
    ring.append(digest)
    if len(ring) > RECENT_RING:
        del ring[0]
    return False


def fingerprint(parts: Any) -> str:
    """A short, stable hash of JSON-able ``parts`` (dicts are hashed with sorted keys)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rule_slots(state: EntityState) -> dict[str, Any]:
    slots = state.data.get(RULES_KEY)
    if not isinstance(slots, dict):
        slots = state.data[RULES_KEY] = {}
    return slots


def peek_slot(state: EntityState, rule_id: str, print_: str) -> dict[str, Any] | None:
    """The rule's slot when it exists and belongs to this definition (no write)."""
    slots = state.data.get(RULES_KEY)
    slot = slots.get(rule_id) if isinstance(slots, dict) else None
    if isinstance(slot, dict) and slot.get(FINGERPRINT_KEY) == print_:
        return slot
    return None


def open_slot(state: EntityState, rule_id: str, print_: str) -> dict[str, Any]:
    """The rule's slot, replaced by an empty one when it was written by another definition."""
    slots = rule_slots(state)
    slot = slots.get(rule_id)
    if not isinstance(slot, dict) or slot.get(FINGERPRINT_KEY) != print_:
        slot = slots[rule_id] = {FINGERPRINT_KEY: print_}
    return slot


def drop_unknown_slots(state: EntityState, known: Container[str]) -> None:
    """Forget the slots of rules that are not in the current rule set (``known``: a set or a mapping
    by rule id), and empty ones."""
    slots = state.data.get(RULES_KEY)
    if not isinstance(slots, dict):
        return
    for rule_id in [rule_id for rule_id, slot in slots.items() if rule_id not in known or _empty(slot)]:
        del slots[rule_id]
    if not slots:
        del state.data[RULES_KEY]


def _empty(slot: Any) -> bool:
    return not isinstance(slot, dict) or slot.keys() <= {FINGERPRINT_KEY}


def reset_slot(slot: dict[str, Any], print_: str) -> None:
    """Empty a damaged slot in place and stamp it again (the rule starts afresh)."""
    slot.clear()
    slot[FINGERPRINT_KEY] = print_
