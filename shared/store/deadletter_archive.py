"""Reading parked dead letters back: the API ``squall deadletter`` uses on every adapter that keeps them.

The pipeline only writes (``DeadLetterSink``); operators list, inspect, replay and remove. SQLite
(``shared/store/sqlite/``) and Blob storage (``shared/store/blob_deadletters.py``) implement it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.store.models import DeadLetter, DeadLetterKind
from shared.store.ports import DeadLetterStore

__all__ = ["DeadLetterArchive", "DeadLetterKind", "DeadLetterSummary", "summarize"]


@dataclass(frozen=True, slots=True)
class DeadLetterSummary:
    """What a listing shows without reading the payload (Blob: the blob's metadata alone)."""

    id: str
    kind: str
    reason: str
    partition: str | None
    sequence_number: int | None
    attempts: int
    created_at: datetime
    payload_bytes: int


class DeadLetterArchive(DeadLetterStore, Protocol):
    async def list(self, *, limit: int = 100, kind: DeadLetterKind | None = None) -> builtins.list[DeadLetter]:
        """The oldest parked letters (of one kind when given), with payloads and ids."""
        ...

    async def list_summaries(
        self, *, limit: int = 100, kind: DeadLetterKind | None = None
    ) -> builtins.list[DeadLetterSummary]:
        """The oldest parked letters as summaries, without reading payloads."""
        ...

    async def get(self, letter_id: str) -> DeadLetter | None:
        """One letter by its id, or ``None`` when there is no such letter."""
        ...

    async def delete(self, letter_id: str) -> bool:
        """Remove one letter; ``False`` when there was no such letter."""
        ...


def reason_code(reason: str) -> str:
    """The stable part of a reason (before the first ':'), as ``BatchReport`` counts reasons."""
    return reason.split(":", 1)[0].strip()


def summarize(letter: DeadLetter) -> DeadLetterSummary:
    """The summary of a stored letter (it has an id and a creation time)."""
    if letter.id is None or letter.created_at is None:
        raise ValueError("only a stored dead letter (with id and created_at) has a summary")
    return DeadLetterSummary(
        id=letter.id,
        kind=letter.kind,
        reason=letter.reason,
        partition=letter.partition,
        sequence_number=letter.sequence_number,
        attempts=letter.attempts,
        created_at=letter.created_at,
        payload_bytes=len(letter.payload),
    )
