"""``squall backfill``: Event Hubs Capture history through the rules, as a dry run or a local run.

source = LocalCapture(Path("capture"))           # or open_blob_capture("capture", settings)
events = captured_events(source, TimeWindow(since, until))
report = dry_run_captured(events, ruleset, options=..., policy=live_policy(settings))
# or: run_local(capture_batches(events), ..., event_time=backfill_policy(settings))
"""

from __future__ import annotations

from squall.backfill.capture import (
    CAPTURE_SCHEMA,
    CaptureFile,
    CaptureFormatError,
    TimeWindow,
    parse_capture_name,
    parse_enqueued_time,
)
from squall.backfill.replay import (
    CaptureCount,
    backfill_policy,
    capture_batches,
    counted,
    dry_run_captured,
    live_policy,
)
from squall.backfill.sources import (
    BlobCapture,
    CaptureSource,
    CaptureSourceError,
    LocalCapture,
    captured_events,
    open_blob_capture,
)

__all__ = [
    "CAPTURE_SCHEMA",
    "BlobCapture",
    "CaptureCount",
    "CaptureFile",
    "CaptureFormatError",
    "CaptureSource",
    "CaptureSourceError",
    "LocalCapture",
    "TimeWindow",
    "backfill_policy",
    "capture_batches",
    "captured_events",
    "counted",
    "dry_run_captured",
    "live_policy",
    "open_blob_capture",
    "parse_capture_name",
    "parse_enqueued_time",
]
