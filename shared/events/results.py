"""What ``normalize_raw_event`` returns: events, and rejections that say why. Never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field

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
