"""``build_event``: the one place normalizers create ``Event`` objects, fast and still validated.

``Event(...)`` runs pydantic validation (~2-3 µs, most of the per-event budget). The normalizers
already produce typed values, so ``build_event`` checks the model's invariants directly (non-blank
id/type/entity, timezone-aware time, tenant text or None, attributes a dict) and then fills the model
without re-validating. The result is equal to ``Event(...)`` with the same values (a test holds this
for every fixture). If the model gains fields this module does not know, it falls back to
``Event(...)`` so nothing is skipped silently.

``assemble_event`` is the unchecked core, for a normalizer that has already established every
invariant itself (the O365 hot path): it fills the instance through pydantic's own slot descriptors,
exactly as ``BaseModel.model_construct`` would, in ~0.2 µs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

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
#: What ``model_construct`` does for this model, when it has no post-init, privates or extras.
ASSEMBLE_IN_PLACE = (
    _FIELD_NAMES == _KNOWN_FIELDS
    and not Event.__pydantic_post_init__
    and not Event.__private_attributes__
    and Event.model_config.get("extra") != "allow"
)
#: One shared "every field was set" set: a frozen Event never changes it (``model_copy`` copies it).
ALL_FIELDS_SET = set(_FIELD_NAMES)
#: The steps of ``assemble_event``, for a hot path that inlines it (only when ``ASSEMBLE_IN_PLACE``).
new_object = object.__new__
set_dict = BaseModel.__dict__["__dict__"].__set__
set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
set_private = BaseModel.__dict__["__pydantic_private__"].__set__


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
    return assemble_event(event_id, fmt, event_type, time, entity, tenant, attributes, provenance)


def assemble_event(
    event_id: str,
    source: str,
    event_type: str,
    time: datetime,
    entity: str,
    tenant: str | None,
    attributes: dict[str, Any],
    provenance: Provenance,
) -> Event:
    """An Event from values the caller has already checked (see ``build_event`` for the checks)."""
    values: dict[str, Any] = {
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": time,
        "entity": entity,
        "tenant": tenant,
        "attributes": attributes,
        "partition": provenance[0],
        "sequence_number": provenance[1],
        "enqueued_time": provenance[2],
    }
    if not ASSEMBLE_IN_PLACE:
        return Event(**values)
    event = new_object(Event)
    set_dict(event, values)
    set_fields_set(event, ALL_FIELDS_SET)
    set_extra(event, None)
    set_private(event, None)
    return event


def _check_text(value: object, fmt: str, name: str) -> None:
    if type(value) is not str or not value or value.isspace():
        raise RecordRejected(f"{fmt}: canonical {name} is empty")
