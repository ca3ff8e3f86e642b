"""Where stateful rules keep their memory inside an entity's state, and how it survives new versions.

Layout of ``EntityState.data`` (JSON only; times are integer milliseconds since the epoch, UTC):

    {"rules": {"<rule id>": {"fp": "<fingerprint>", ...the pattern's own keys...}},
     "wm": <the entity's watermark: newest event time a stateful rule took>,
     "cooldowns": {...}, "fired": {...}, "held": [...]}      # suppression, see suppression.py

A rule's slot is keyed by its id and stamped with a fingerprint of its stateful definition (what it
matches and how it aggregates, not its thresholds or actions). A new rule-set version keeps the slot
of a rule whose fingerprint is unchanged and starts a changed one afresh; slots of rules that are no
longer in the set are dropped the next time the entity is evaluated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from shared.store.models import EntityState

RULES_KEY = "rules"
FINGERPRINT_KEY = "fp"








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


def drop_unknown_slots(state: EntityState, known: Iterable[str]) -> None:
    """Forget the slots of rules that are not in the current rule set, and empty ones."""
    slots = state.data.get(RULES_KEY)
    if not isinstance(slots, dict):
        return
    keep = set(known)
    for rule_id in [rule_id for rule_id, slot in slots.items() if rule_id not in keep or _empty(slot)]:
        del slots[rule_id]
    if not slots:
        del state.data[RULES_KEY]


def _empty(slot: Any) -> bool:
    return not isinstance(slot, dict) or slot.keys() <= {FINGERPRINT_KEY}


