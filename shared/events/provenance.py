"""Where a record came from on the hub, computed once per RawEvent and copied onto each Event."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from shared.events.models import RawEvent
from shared.events.timestamps import as_utc


class Provenance(NamedTuple):
    partition: str | None
    sequence_number: int | None
    enqueued_time: datetime | None

    @classmethod
    def of(cls, raw: RawEvent) -> Provenance:
        partition, sequence_number, enqueued = raw.partition, raw.sequence_number, raw.enqueued_time
        return cls(
            None if partition is None else str(partition),
            None if sequence_number is None else int(sequence_number),
            None if enqueued is None else as_utc(enqueued),
        )
