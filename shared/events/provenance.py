"""Where a record came from on the hub, computed once per RawEvent and copied onto each Event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from shared.events.models import RawEvent
from shared.events.timestamps import as_utc

_new_tuple = tuple.__new__


class Provenance(NamedTuple):
    partition: str | None
    sequence_number: int | None
    enqueued_time: datetime | None

    @classmethod
    def of(cls, raw: RawEvent) -> Provenance:
        partition, sequence_number, enqueued = raw.partition, raw.sequence_number, raw.enqueued_time
        if (
            (partition is None or type(partition) is str)
            and (sequence_number is None or type(sequence_number) is int)
            and (enqueued is None or enqueued.tzinfo is UTC)
        ):
            return _new_tuple(cls, (partition, sequence_number, enqueued))  # as sent: no conversion
        if partition is not None and type(partition) is not str:
            partition = str(partition)
        if sequence_number is not None and type(sequence_number) is not int:
            sequence_number = int(sequence_number)
        if enqueued is not None and enqueued.tzinfo is not UTC:
            enqueued = as_utc(enqueued)
        return cls(partition, sequence_number, enqueued)
