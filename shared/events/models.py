"""The canonical event every normalizer produces, and the raw event every trigger hands in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

EventSource = Literal["o365", "cloudevents", "eventgrid", "iothub", "json"]

#: Largest body accepted from one Event Hub event (the Standard tier's message limit is 1 MB).
MAX_EVENT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One message as it came off the hub: bytes plus provenance. No parsing has happened yet."""

    body: bytes
    partition: str | None = None
    partition_key: str | None = None
    sequence_number: int | None = None
    offset: str | None = None
    enqueued_time: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    system_properties: dict[str, Any] = field(default_factory=dict)


class Event(BaseModel):
    """Squall's one canonical event. Frozen, timezone-aware, snake_case.

    ``attributes`` carries everything else the producer sent, typed as JSON values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    source: EventSource
    type: str
    time: AwareDatetime
    entity: str
    tenant: str | None = None
    attributes: dict[str, Any] = {}
    partition: str | None = None
    sequence_number: int | None = None
    enqueued_time: AwareDatetime | None = None

    @field_validator("id", "type", "entity")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value
