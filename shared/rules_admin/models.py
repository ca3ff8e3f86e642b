"""What rules administration returns: views of a rule set, save outcomes, diffs and dry-run results.

All are plain frozen dataclasses of JSON-ready values, so an HTTP edge or a CLI can print them with
``dataclasses.asdict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RuleSetView:
    """The newest stored version of a rule set; ``version`` 0 and no rules when none is stored."""

    ruleset: str
    version: int
    rules: list[dict[str, Any]]

    def find(self, rule_id: str) -> int | None:
        """Position of the rule with this id, or ``None``."""
        return next((i for i, rule in enumerate(self.rules) if rule.get("id") == rule_id), None)


@dataclass(frozen=True, slots=True)
class RuleView:
    ruleset: str
    version: int
    rule: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RuleChange:
    """A rule present on both sides whose definition differs, and the top-level fields that differ."""

    rule_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleSetDiff:
    """What replacing ``current`` by ``proposed`` changes, by rule id (each tuple sorted)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[RuleChange, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def ids(self) -> dict[str, list[str]]:
        """Added, removed and changed rule ids, as JSON (for history and rollback answers)."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [change.rule_id for change in self.changed],
        }

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed, {len(self.unchanged)} unchanged"
        )


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """A write to a rule set. ``changed`` False: the stored set already said this; no version was made."""

    ruleset: str
    version: int
    changed: bool
    diff: RuleSetDiff = field(default_factory=RuleSetDiff)


@dataclass(frozen=True, slots=True)
class VersionSummary:
    """One stored version: when (ISO 8601 UTC, ``None`` if unknown), how many rules, and which rule
    ids it added, removed and changed compared with the version before it."""

    version: int
    created_at: str | None
    rules: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSetHistory:
    """The newest versions of a rule set, newest first; ``version`` is the newest (0: none stored)."""

    ruleset: str
    version: int
    versions: tuple[VersionSummary, ...]


@dataclass(frozen=True, slots=True)
class FiringOutcome:
    """A rule fired for an event: when (on the dry run's clock), why (``event`` or ``deadline``) and
    what would have been planned. ``action_key``/``contact_key`` are ``None`` when the action could
    not be planned; ``error`` then says why (the pipeline would dead-letter it)."""

    rule_id: str
    time: str
    trigger: str
    action_key: str | None
    contact_key: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What the rules did with one posted item.

    ``index`` is the item's position in the request (an item holding several records gives several
    outcomes with one index). An item the normalizer refused has only ``rejected``; a repeated event
    id is ``duplicate`` and fires nothing (the pipeline skips it too).
    """

    index: int
    event_id: str | None = None
    type: str | None = None
    entity: str | None = None
    matched: tuple[str, ...] = ()
    firings: tuple[FiringOutcome, ...] = ()
    rejected: str | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class DryRunResponse:
    """A dry run: which rules fired for each event and what would be sent (nothing is).

    ``ruleset`` is ``None`` when the rules came with the request (version 0). ``ended_at`` is the
    clock when the run finished (deadlines due by then have fired).
    """

    ruleset: str | None
    version: int
    clock: str
    events: tuple[EventOutcome, ...]
    ended_at: str | None = None

    @property
    def firing_count(self) -> int:
        return sum(len(outcome.firings) for outcome in self.events)
