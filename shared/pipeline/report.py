"""What one batch did: counts that always add up, so nothing is dropped silently."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime


@dataclass(slots=True)
class BatchReport:
    """Counts for one batch (or, summed with ``+=``, for a run of batches).

    Invariants: ``events_in == events_normalized + events_dead_lettered`` and
    ``actions_planned == actions_delivered + actions_failed + actions_skipped_duplicate``.
    """

    events_in: int = 0
    events_normalized: int = 0
    events_dead_lettered: int = 0
    events_duplicate: int = 0
    events_late: int = 0  # applied under the rules' lateness policy (counted, never dropped)
    rule_matches: int = 0
    actions_planned: int = 0
    actions_delivered: int = 0
    actions_failed: int = 0
    actions_skipped_duplicate: int = 0
    actions_dead_lettered: int = 0
    state_reads: int = 0
    state_writes: int = 0
    elapsed_s: float = 0.0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    matches_by_rule: dict[str, int] = field(default_factory=dict)
    latest_event_time: datetime | None = None  # the newest event time seen (an event-time clock)

    def count_reason(self, reason: str) -> None:
        # Reasons can carry ids or offsets; the counter keys by the stable part before the first ':'.
        key = reason.split(":", 1)[0] if ":" in reason else reason
        self.dead_letter_reasons[key] = self.dead_letter_reasons.get(key, 0) + 1

    def __iadd__(self, other: BatchReport) -> BatchReport:
        for f in fields(self):
            mine = getattr(self, f.name)
            if f.name == "latest_event_time":
                times = [t for t in (mine, other.latest_event_time) if t is not None]
                self.latest_event_time = max(times, default=None)
            elif isinstance(mine, dict):
                for key, count in getattr(other, f.name).items():
                    mine[key] = mine.get(key, 0) + count
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        data["latest_event_time"] = self.latest_event_time.isoformat() if self.latest_event_time else None
        return data
