"""Amazon EventBridge: destinations from settings (``SQUALL_EVENTBRIDGE``), the entries of a
``PutEvents`` call and the ``EventBridgeDeliverer`` (an ``ActionSender``). boto3 is imported only
when a deliverer is built, so the package costs nothing where no bus is configured."""

from __future__ import annotations

from shared.actions.eventbridge.config import EventBridgeDestination, eventbridge_from_settings
from shared.actions.eventbridge.entries import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, entry_size, put_events_entry

__all__ = [
    "MAX_ENTRIES_PER_CALL",
    "MAX_REQUEST_BYTES",
    "EventBridgeDestination",
    "entry_size",
    "eventbridge_from_settings",
    "put_events_entry",
]
