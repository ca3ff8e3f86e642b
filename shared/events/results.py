"""What ``normalize_raw_event`` and ``normalize_batch`` return: events, and rejections that say why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from shared.events.models import Event


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record that did not become an event.

    ``index`` is the record's position when the body was a JSON array, else ``None``; ``payload`` is
    the record's own bytes (the whole body for a single record, the re-encoded item for an array).
    """

    reason: str
    index: int | None
    payload: bytes


@dataclass(slots=True)
class NormalizeResult:
    """``len(events) + len(rejections)`` is the number of records in the body (1 if unparseable)."""

    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class RejectedRecord(NamedTuple):
    """A rejection from ``normalize_batch``: ``message`` is the position of its message in the batch."""

    message: int
    rejection: Rejection


@dataclass(slots=True)
class BatchNormalized:
    """What ``normalize_batch`` returns: every message's events in order, and every rejection."""

    events: list[Event] = field(default_factory=list)
    rejections: list[RejectedRecord] = field(default_factory=list)

    @property
    def records(self) -> int:
        """Records seen: events plus rejections (an unparseable message counts as one)."""
        return len(self.events) + len(self.rejections)
