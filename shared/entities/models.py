"""What the entity tools answer: an entity's state as stored and readable, and what a reset, a
deletion or a suppression change did. Each has ``to_json()``, the one shape the CLI's ``--json``
and the HTTP routes print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.rules import StateInventory, format_datetime
from shared.store.models import SuppressionList


@dataclass(frozen=True, slots=True)
class EntityStateView:
    """Everything Squall keeps about one entity: its state (raw ``data`` and, readable, ``inventory``),
    whether it is suppressed, and how many of its actions wait in the outbox."""

    entity: str
    entity_hash: str
    found: bool
    etag: str | None
    due_at: datetime | None
    suppressed: bool
    pending_actions: int
    inventory: StateInventory
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "entity_hash": self.entity_hash,
            "found": self.found,
            "etag": self.etag,
            "due_at": format_datetime(self.due_at) if self.due_at else None,
            "suppressed": self.suppressed,
            "pending_actions": self.pending_actions,
            **self.inventory.to_json(),
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    """The rules whose memory a reset dropped (empty: there was nothing to drop) and what it kept."""

    entity: str
    found: bool
    rules_reset: tuple[str, ...]
    kept: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "found": self.found, "rules_reset": list(self.rules_reset),
                "kept": list(self.kept)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeletionOutcome:
    """Whether a state document was deleted, how many undelivered actions were discarded, and how
    many dead letters holding the entity's data were removed."""

    entity: str
    state_deleted: bool
    actions_discarded: int
    dead_letters_deleted: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "state_deleted": self.state_deleted,
                "actions_discarded": self.actions_discarded,
                "dead_letters_deleted": self.dead_letters_deleted}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SuppressionChange:
    """The list's version after a change, the hashes it added or removed, the actions it discarded."""

    version: int
    changed: tuple[str, ...]
    actions_discarded: int = 0

    def to_json(self, verb: str) -> dict[str, Any]:
        return {"version": self.version, verb: list(self.changed), "actions_discarded": self.actions_discarded}


def suppression_json(listed: SuppressionList) -> dict[str, Any]:
    return {
        "version": listed.version,
        "count": len(listed.entries),
        "entities": [
            {"entity_hash": entry.hash, "added_at": format_datetime(entry.added_at) if entry.added_at else None}
            for entry in listed.entries
        ],
    }
