"""``build_event``: the one place normalizers create ``Event`` objects, fast and still validated.

``Event(...)`` runs pydantic validation (~2-3 µs, most of the per-event budget). The normalizers
already produce typed values, so ``build_event`` checks the model's invariants directly (non-blank
id/type/entity, timezone-aware time, tenant text or None, attributes a dict) and then fills the model
without re-validating. The result is equal to ``Event(...)`` with the same values (a test holds this
for every fixture). If the model gains fields this module does not know, it falls back to
``Event(...)`` so nothing is skipped silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.errors import RecordRejected
from shared.events.models import Event
from shared.events.provenance import Provenance

_KNOWN_FIELDS = frozenset(
    {
        "id",
        "source",
        "type",
        "time",
        "entity",
        "tenant",
        "attributes",
        "partition",
        "sequence_number",
        "enqueued_time",
    }
)
_FIELD_NAMES = set(Event.model_fields)
_FAST_PATH = _FIELD_NAMES == _KNOWN_FIELDS
_new_object = object.__new__
_set_attribute = object.__setattr__


def build_event(
    fmt: str,
    *,
    event_id: str,
    event_type: str,
    time: datetime,
    entity: str,
    tenant: str | None,
    attributes: dict[str, Any],
    provenance: Provenance,
) -> Event:
    """A canonical Event of format ``fmt``; ``RecordRejected`` when a canonical value is invalid."""
    _check_text(event_id, fmt, "id")
    _check_text(event_type, fmt, "type")
    _check_text(entity, fmt, "entity")
    if not isinstance(time, datetime) or time.utcoffset() is None:
        raise RecordRejected(f"{fmt}: event time is not a timezone-aware datetime")
    if tenant is not None and type(tenant) is not str:
        raise RecordRejected(f"{fmt}: tenant must be text")
    values: dict[str, Any] = {
        "id": event_id,
        "source": fmt,
        "type": event_type,
        "time": time,
        "entity": entity,
        "tenant": tenant,
        "attributes": attributes,
        "partition": provenance.partition,
        "sequence_number": provenance.sequence_number,
        "enqueued_time": provenance.enqueued_time,
    }
    if not _FAST_PATH:
        return Event(**values)
    event = _new_object(Event)
    _set_attribute(event, "__dict__", values)
    _set_attribute(event, "__pydantic_fields_set__", _FIELD_NAMES.copy())
    _set_attribute(event, "__pydantic_extra__", None)
    _set_attribute(event, "__pydantic_private__", None)
    return event


def _check_text(value: object, fmt: str, name: str) -> None:
    if type(value) is not str or not value or value.isspace():
        raise RecordRejected(f"{fmt}: canonical {name} is empty")
