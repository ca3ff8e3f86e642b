"""What replaying dead letters did, letter by letter."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shared.pipeline.report import BatchReport


class ReplayStatus(StrEnum):
    PROCESSED = "processed"  # event normalized now, or action delivered now: the letter is deleted
    DEAD_LETTERED_AGAIN = "dead-lettered again"  # the new letters are kept, the old one deleted
    KEPT = "kept"  # not replayed, left as it is


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    letter_id: str
    kind: str
    status: ReplayStatus
    reasons: tuple[str, ...] = ()  # why it was dead-lettered again, or why it was kept


@dataclass(slots=True)
class ReplayResult:
    outcomes: list[ReplayOutcome] = field(default_factory=list)
    report: BatchReport = field(default_factory=BatchReport)
    stub_received: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "outcomes": [
                {
                    "id": o.letter_id,
                    "kind": o.kind,
                    "status": str(o.status),
                    "reasons": list(o.reasons),
                }
                for o in self.outcomes
            ],
            "report": self.report.as_dict(),
            "stub_received": self.stub_received,
        }

    def add_stub_received(self, count: int | None) -> None:
        if count is not None:
            self.stub_received = (self.stub_received or 0) + count
