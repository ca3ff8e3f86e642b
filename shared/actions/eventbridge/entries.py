"""The entries of ``PutEvents`` calls: one per action, at most 10 per call and 256 KB per call.

An entry's size is counted as AWS counts it: the UTF-8 bytes of ``Source``, ``DetailType``,
``Detail`` and each resource (plus 14 for a ``Time``, which Squall does not set); a call's entries
together may not exceed 256 KB. ``Detail`` is the JSON body every webhook receives — idempotency
key, rule, event, entity, contact key and the rule's rendered ``data`` — since EventBridge has no
idempotency header: consumers drop repeats by ``detail.idempotency_key``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.actions.eventbridge.config import EventBridgeDestination
from shared.actions.models import PlannedAction
from shared.actions.payloads import destination_body
from shared.actions.sfmc.requests import json_body

MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024


def put_events_entry(action: PlannedAction, destination: EventBridgeDestination) -> dict[str, str]:
    """The ``PutEventsRequestEntry`` of ``action``; raises ValueError/TypeError when data is not JSON."""
    return {
        "Source": destination.source,
        "DetailType": action.detail_type or "",
        "Detail": json_body(destination_body(action)).decode("utf-8"),
        "EventBusName": destination.event_bus_name,
    }


def entry_size(entry: dict[str, Any]) -> int:
    """The entry's size as EventBridge counts it against the 256 KB limit."""
    size = 14 if entry.get("Time") else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode("utf-8"))
    size += sum(len(resource.encode("utf-8")) for resource in entry.get("Resources") or ())
    return size


def calls_of(sizes: Sequence[int]) -> list[list[int]]:
    """Indexes of entries cut into calls: in order, at most 10 and at most 256 KB per call (every
    size must be at most ``MAX_REQUEST_BYTES``)."""
    calls: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index, size in enumerate(sizes):
        if current and (len(current) == MAX_ENTRIES_PER_CALL or total + size > MAX_REQUEST_BYTES):
            calls.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        calls.append(current)
    return calls
