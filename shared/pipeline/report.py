"""What one batch did: counts that always add up, so nothing is dropped silently."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

#: Distinct full reasons a report keeps; the rest are counted under ``OTHER_REASONS``.
MAX_FULL_REASONS = 20
OTHER_REASONS = "(other reasons)"


@dataclass(slots=True)
class BatchReport:
    """Counts for one batch (or, summed with ``+=``, for a run of batches).

    Invariants (``invariant_problems()`` checks them):

    - ``events_in == events_normalized + events_dead_lettered``;
    - ``actions_planned + actions_recovered == actions_delivered + actions_failed
      + actions_skipped_duplicate + actions_pending``.

    ``actions_recovered`` are outbox entries an earlier attempt (a crashed process, a batch whose
    destination was down) committed and this one picked up; ``actions_pending`` those this one
    handed to delivery and left in the outbox (the destination was down), for a later attempt to
    recover. ``actions_uncertain`` counts recovered entries that were in flight when the earlier
    attempt stopped: they may have reached the destination already and are sent again — the only
    actions that can arrive twice.
    """

    events_in: int = 0
    events_normalized: int = 0
    events_dead_lettered: int = 0
    events_duplicate: int = 0
    events_late: int = 0  # applied under the rules' lateness policy (counted, never dropped)
    events_suppressed: int = 0  # of suppressed entities: skipped before the rules (part of events_normalized)
    deadlines_suppressed: int = 0  # deadline firings of suppressed entities: never planned
    rule_matches: int = 0
    actions_planned: int = 0
    actions_delivered: int = 0
    actions_failed: int = 0
    actions_skipped_duplicate: int = 0
    actions_recovered: int = 0
    actions_pending: int = 0
    actions_uncertain: int = 0
    actions_dead_lettered: int = 0
    actions_shadowed: int = 0  # what shadow rules would have sent: recorded (outcome=shadow), never planned
    state_reads: int = 0
    state_writes: int = 0
    elapsed_s: float = 0.0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    dead_letter_reasons_full: dict[str, int] = field(default_factory=dict)
    matches_by_rule: dict[str, int] = field(default_factory=dict)  # every rule's matches, shadow ones too
    shadow_matches_by_rule: dict[str, int] = field(default_factory=dict)  # the shadow rules' among them
    latest_event_time: datetime | None = None  # the newest event time seen (an event-time clock)

    def invariant_problems(self) -> list[str]:
        """The invariants above that do not hold (an empty list when the counts add up)."""
        problems = []
        if self.events_in != self.events_normalized + self.events_dead_lettered:
            problems.append(
                f"events_in {self.events_in} != normalized {self.events_normalized} "
                f"+ dead-lettered {self.events_dead_lettered}"
            )
        taken = self.actions_planned + self.actions_recovered
        settled = self.actions_delivered + self.actions_failed + self.actions_skipped_duplicate + self.actions_pending
        if taken != settled:
            problems.append(
                f"planned {self.actions_planned} + recovered {self.actions_recovered} != delivered "
                f"{self.actions_delivered} + failed {self.actions_failed} + skipped "
                f"{self.actions_skipped_duplicate} + pending {self.actions_pending}"
            )
        return problems

    def count_reason(self, reason: str) -> None:
        # Reasons can carry ids or offsets; the counter keys by the stable part before the first ':'.
        key = reason.split(":", 1)[0] if ":" in reason else reason
        self.dead_letter_reasons[key] = self.dead_letter_reasons.get(key, 0) + 1
        _count_full_reason(self.dead_letter_reasons_full, reason, 1)

    def __iadd__(self, other: BatchReport) -> BatchReport:
        # Added once per entity of a batch (its scratch ledger): most counts are 0, so only the others
        # are touched.
        for name in _COUNTS:
            if value := getattr(other, name):
                setattr(self, name, getattr(self, name) + value)
        for name in _TALLIES:
            if theirs := getattr(other, name):
                mine = getattr(self, name)
                for key, count in theirs.items():
                    mine[key] = mine.get(key, 0) + count
        for reason, count in other.dead_letter_reasons_full.items():
            _count_full_reason(self.dead_letter_reasons_full, reason, count)
        if other.latest_event_time is not None and (
            self.latest_event_time is None or other.latest_event_time > self.latest_event_time
        ):
            self.latest_event_time = other.latest_event_time
        return self

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        data["latest_event_time"] = self.latest_event_time.isoformat() if self.latest_event_time else None
        return data


def _count_full_reason(tally: dict[str, int], reason: str, count: int) -> None:
    if reason not in tally and len(tally) - (OTHER_REASONS in tally) >= MAX_FULL_REASONS:
        reason = OTHER_REASONS
    tally[reason] = tally.get(reason, 0) + count


_COUNTS = tuple(f.name for f in fields(BatchReport) if f.type in ("int", "float"))
_TALLIES = tuple(
    f.name for f in fields(BatchReport) if f.type == "dict[str, int]" and f.name != "dead_letter_reasons_full"
)
