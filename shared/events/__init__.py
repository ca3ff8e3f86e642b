"""Events: the canonical model and one normalizer per source format.

Public API::

    from shared.events import normalize_raw_event, NormalizeOptions, NormalizeResult, Rejection

    result = normalize_raw_event(raw, NormalizeOptions(source="auto", json_field_map=None))
    result.events        # list[Event], provenance copied from the RawEvent
    result.rejections    # list[Rejection(reason, index, payload)]; never an exception
"""

from __future__ import annotations

from shared.events.errors import RecordRejected
from shared.events.models import MAX_EVENT_BYTES, Event, EventSource, RawEvent
from shared.events.normalize import UNKNOWN_FORMAT_REASON, normalize_raw_event
from shared.events.options import SOURCE_OPTIONS, NormalizeOptions, SourceOption, parse_json_field_map
from shared.events.plain_json import NO_FIELD_MAP_REASON
from shared.events.results import NormalizeResult, Rejection

__all__ = [
    "MAX_EVENT_BYTES",
    "NO_FIELD_MAP_REASON",
    "SOURCE_OPTIONS",
    "UNKNOWN_FORMAT_REASON",
    "Event",
    "EventSource",
    "NormalizeOptions",
    "NormalizeResult",
    "RawEvent",
    "RecordRejected",
    "Rejection",
    "SourceOption",
    "normalize_raw_event",
    "parse_json_field_map",
]
