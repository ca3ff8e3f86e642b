"""Where records come from: a JSONL stream (file or stdin) or the synthetic O365 generator.

A JSONL line is sent byte for byte. A line holding a JSON array (an Event Grid delivery, a
CloudEvents batch) is split into one event per element, so each element gets its own entity key.
A line in the envelope shape (docs/events.md) is sent as its body with its application
properties (a binary-mode CloudEvent keyed by its attributes); system properties are the hub's to
set (IoT Hub's ``iothub-*``), so an envelope carrying them is refused. A byte order mark opening
the file is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import msgspec

from shared.events.cloudevents import binary_mode_attributes
from shared.events.errors import RecordRejected
from shared.events.inputs import jsonl_lines, read_envelope
from shared.events.models import MAX_EVENT_BYTES, RawEvent
from squall.send.models import OutgoingRecord, Refusal

SourceItem = OutgoingRecord | Refusal


def read_jsonl(stream: BinaryIO | Iterable[bytes]) -> Iterator[SourceItem]:
    """Records from JSONL bytes; blank lines are skipped, bad lines become refusals with their number."""
    for number, body in jsonl_lines(stream):
        try:
            envelope = read_envelope(body)
        except RecordRejected as exc:
            yield Refusal(f"line {number}", str(exc))
            continue
        if envelope is None:
            yield from _records_of_line(body, location=f"line {number}")
        else:
            yield _envelope_record(envelope, location=f"line {number}")


def _envelope_record(envelope: RawEvent, *, location: str) -> SourceItem:
    if envelope.system_properties:
        return Refusal(location, "envelope: system properties are set by the hub (IoT Hub: iothub-*), not a sender")
    if len(envelope.body) > MAX_EVENT_BYTES:
        return Refusal(location, over_limit_reason(len(envelope.body)))
    record = binary_mode_attributes(envelope)
    if record is None:
        try:
            record = msgspec.json.decode(envelope.body)
        except msgspec.DecodeError:
            record = None
    return OutgoingRecord(location=location, body=envelope.body, record=record, properties=envelope.properties)


def _records_of_line(body: bytes, *, location: str) -> Iterator[SourceItem]:
    if len(body) > MAX_EVENT_BYTES:
        yield Refusal(location, over_limit_reason(len(body)))
        return
    try:
        decoded: Any = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        yield Refusal(location, f"invalid JSON: {exc}")
        return
    if isinstance(decoded, dict):
        yield OutgoingRecord(location=location, body=body, record=decoded)
    elif isinstance(decoded, list):
        yield from _array_elements(decoded, location=location)
    else:
        yield Refusal(location, f"expected a JSON object or array, got {type(decoded).__name__}")


def _array_elements(elements: list[Any], *, location: str) -> Iterator[SourceItem]:
    if not elements:
        yield Refusal(location, "empty JSON array")
    for index, element in enumerate(elements):
        element_location = f"{location}[{index}]"
        if isinstance(element, dict):
            yield OutgoingRecord(element_location, msgspec.json.encode(element), element)
        else:
            yield Refusal(element_location, f"expected a JSON object, got {type(element).__name__}")


def synthetic_records(count: int, *, seed: int = 0) -> Iterator[SourceItem]:
    """``count`` synthetic Office 365 audit records (squall.synthetic), compact JSON bodies."""
    from squall.synthetic import generate_o365_records  # lazy: a sibling module, heavy to import

    encoder = msgspec.json.Encoder()
    for number, record in enumerate(generate_o365_records(count, seed=seed), start=1):
        yield OutgoingRecord(location=f"record {number}", body=encoder.encode(record), record=record)


def over_limit_reason(size: int) -> str:
    return f"event is {size} bytes, over the Event Hubs limit of {MAX_EVENT_BYTES} bytes"
