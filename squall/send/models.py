"""What `squall send` reads, refuses, packs and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """One record to become one Event Hubs event: its exact body and where it came from.

    ``location`` names the record for messages: ``line 7``, or ``line 7[2]`` for the third element of
    a JSON array on line 7, or ``record 12`` for generated records.
    """

    location: str
    body: bytes
    record: Any = None
    properties: dict[str, Any] | None = None  # application properties (an envelope's)


@dataclass(frozen=True, slots=True)
class KeyedRecord:
    """A record with its partition key (the entity key) decided."""

    location: str
    body: bytes
    partition_key: str
    properties: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record that will not be sent, and why (``location`` + ``reason`` make the one-line message)."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(slots=True)
class PackedBatch:
    """A full (or final) batch for one partition key, ready for ``producer.send_batch``.

    ``batch`` is the SDK's ``EventDataBatch``; ``size_in_bytes`` is its encoded size.
    """

    partition_key: str
    batch: Any
    events: int
    size_in_bytes: int
    locations: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "partition_key": self.partition_key,
            "events": self.events,
            "bytes": self.size_in_bytes,
            "first": self.locations[0] if self.locations else "",
            "last": self.locations[-1] if self.locations else "",
            "locations": self.locations,
        }


@dataclass(slots=True)
class SendReport:
    """The numbers `squall send` prints at the end (``--json`` prints exactly these keys)."""

    events_read: int = 0
    events_sent: int = 0
    events_refused: int = 0
    batches: int = 0
    partition_keys: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    dry_run: bool = False
    plan: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "events_read": self.events_read,
            "events_sent": self.events_sent,
            "events_refused": self.events_refused,
            "batches": self.batches,
            "partition_keys": self.partition_keys,
            "bytes": self.bytes,
            "elapsed_s": round(self.elapsed_s, 3),
            "dry_run": self.dry_run,
            "refusals": self.refusals,
        }
        if self.dry_run:
            summary["plan"] = self.plan
        return summary
