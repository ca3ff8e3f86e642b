"""Events for ``rules explain`` and ``rules test``: canonical events or raw records in any format.

A JSON object with the canonical event's keys (``id``, ``source``, ``type``, ``time``, ``entity``
and nothing the canonical model does not know) is read as a canonical ``Event`` — what
``squall normalize`` prints. Anything else goes through ``normalize_raw_event`` (format detected).
"""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic import ValidationError

from shared.events import Event, NormalizeOptions, NormalizeResult, RawEvent, Rejection, normalize_raw_event
from shared.events.layered import validation_reason

_CANONICAL_KEYS = frozenset(Event.model_fields)
_REQUIRED_KEYS = frozenset({"id", "source", "type", "time", "entity"})
_DECODER = msgspec.json.Decoder()
_DEFAULT_OPTIONS = NormalizeOptions()


def is_canonical_record(record: Any) -> bool:
    return type(record) is dict and record.keys() >= _REQUIRED_KEYS and record.keys() <= _CANONICAL_KEYS


def read_event_body(body: bytes, options: NormalizeOptions = _DEFAULT_OPTIONS) -> NormalizeResult:
    """The events in one body (one record or a JSON array); never raises, like the normalizer."""
    try:
        decoded = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return normalize_raw_event(RawEvent(body=body), options)  # it words the rejection
    if is_canonical_record(decoded):
        return _canonical([decoded], single=True)
    if type(decoded) is list and decoded and all(is_canonical_record(item) for item in decoded):
        return _canonical(decoded, single=False)
    return normalize_raw_event(RawEvent(body=body), options)


def _canonical(records: list[dict[str, Any]], *, single: bool) -> NormalizeResult:
    result = NormalizeResult()
    for index, record in enumerate(records):
        try:
            result.events.append(Event.model_validate(record))
        except ValidationError as exc:
            payload = msgspec.json.encode(record)
            reason = validation_reason("canonical", exc)
            result.rejections.append(Rejection(reason=reason, index=None if single else index, payload=payload))
    return result
