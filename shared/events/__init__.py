"""Events: the canonical model and one normalizer per source format.

Public API::

    from shared.events import normalize_raw_event, NormalizeOptions, NormalizeResult, Rejection

    result = normalize_raw_event(raw, NormalizeOptions(source="auto", json_field_map=None))
    result.events        # list[Event], provenance copied from the RawEvent
    result.rejections    # list[Rejection(reason, index, payload)]; never an exception

    batch = normalize_batch(raws, options)   # a whole trigger batch in one call (the hot path)
    batch.events         # every message's events, in order
    batch.rejections     # list[RejectedRecord(message, rejection)]: message = position in raws
"""

from __future__ import annotations

from shared.events.errors import RecordRejected
from shared.events.models import MAX_EVENT_BYTES, Event, EventSource, RawEvent
from shared.events.normalize import UNKNOWN_FORMAT_REASON, normalize_batch, normalize_raw_event
from shared.events.options import SOURCE_OPTIONS, NormalizeOptions, SourceOption, parse_json_field_map
from shared.events.plain_json import NO_FIELD_MAP_REASON
from shared.events.results import BatchNormalized, NormalizeResult, RejectedRecord, Rejection

__all__ = [
    "MAX_EVENT_BYTES",
    "BatchNormalized",
    "NO_FIELD_MAP_REASON",
    "SOURCE_OPTIONS",
    "UNKNOWN_FORMAT_REASON",
    "Event",
    "EventSource",
    "NormalizeOptions",
    "NormalizeResult",
    "RawEvent",
    "RecordRejected",
    "RejectedRecord",
    "Rejection",
    "SourceOption",
    "normalize_batch",
    "normalize_raw_event",
    "parse_json_field_map",
]
