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
class ActionPreview:
    """An action the pipeline would plan for a match (never sent by a dry run)."""

    rule_id: str
    key: str
    kind: str
    contact_key: str
    event_definition_key: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnplannedMatch:
    """A match whose action could not be planned (the pipeline would dead-letter it), and why."""

    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What the rules did with one posted item.

    ``index`` is the item's position in the request. An item the normalizer refused has
    ``rejected`` set and nothing else; a repeated event id is ``duplicate`` (the pipeline skips it).
    """

    index: int
    event_id: str | None = None
    type: str | None = None
    entity: str | None = None
    candidates: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()
    actions: tuple[ActionPreview, ...] = ()
    not_planned: tuple[UnplannedMatch, ...] = ()
    rejected: str | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class DryRunReport:
    """A dry run: which rules matched each event and what would be sent. ``ruleset`` is ``None``
    when the rules came with the request (version 0)."""

    ruleset: str | None
    version: int
    events: tuple[EventOutcome, ...]

    @property
    def match_count(self) -> int:
        return sum(len(outcome.matched) for outcome in self.events)
